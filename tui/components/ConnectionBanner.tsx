import { Text } from 'ink';
import { useTone } from '../hooks/use-color.js';
import type { Connection } from '../model.js';
import { formatClock } from '../format/units.js';

/** Rows the banner takes when shown. */
export const CONNECTION_BANNER_ROWS = 2;

/** Props: the lost connection and where the socket is. */
export interface ConnectionBannerProps {
  readonly connection: Connection;
  readonly socketHint?: string | undefined;
  /** Interactive dashboards keep retrying; a one-shot frame does not. */
  readonly retrying: boolean;
}

/** "daemon not running — start it with …", plainly, with what is being done about it. */
export function ConnectionBanner({ connection, socketHint, retrying }: ConnectionBannerProps) {
  const tone = useTone();
  const parts = [
    retrying ? `reconnecting… (lost at ${formatClock(new Date(connection.since).toISOString())})` : '',
    connection.reason ?? '',
    socketHint ? `socket ${socketHint}` : '',
  ].filter((p) => p !== '');
  return (
    <>
      <Text bold color={tone('red')} wrap="truncate-end">✗ daemon not running — start it with `sudo ksapp daemon`</Text>
      <Text color={tone('red')} wrap="truncate-end">{`  ${parts.join(' · ')}`}</Text>
    </>
  );
}
