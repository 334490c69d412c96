import { Text } from 'ink';
import { useTone } from '../hooks/use-color.js';

/** Rows the banner takes when shown. */
export const CONFIG_BANNER_ROWS = 1;

/** A rejected config edit: the daemon runs on with its last good config until the file is fixed. */
export function ConfigBanner({ error }: { readonly error: string }) {
  const tone = useTone();
  return (
    <Text bold color={tone('yellow')} wrap="truncate-end">
      {`⚠ config error (last good config still in force): ${error.replace(/\s*\n\s*/g, ' · ')}`}
    </Text>
  );
}
