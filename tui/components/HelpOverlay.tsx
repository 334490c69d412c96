import { Box, Text } from 'ink';
import { useTone } from '../hooks/use-color.js';
import { APP_STATE_LOOKS } from '../format/states.js';

const KEYS: readonly [string, string][] = [
  ['↑ / ↓ / j', 'move the cursor (Ctrl-P/N too)'],
  ['PgUp PgDn g G', 'scroll a page, first, last'],
  ['f', 'freeze the app'],
  ['t', 'thaw the app'],
  ['k', 'kill the app (asks y/n)'],
  ['r', 'release: stop protecting (asks y/n)'],
  ['?  Esc', 'close this help'],
  ['q', 'quit'],
];

/** The keys and what each state symbol means, in place of the tables while open (at most `height` rows). */
export function HelpOverlay({ height }: { readonly height: number }) {
  const tone = useTone();
  // Lines inside the border below the titles; cut rather than overflow (Ink would overlap them).
  const rows = Math.max(3, Math.min(height, KEYS.length + 3));
  const room = rows - 3;
  const legend = [...Object.values(APP_STATE_LOOKS), { symbol: '▲', label: 'UP / ▼ DOWN: tunnel', tone: undefined }];
  return (
    <Box borderStyle="round" borderColor={tone('cyan')} height={rows} paddingX={1}>
      <Box flexDirection="column" flexGrow={1}>
        <Text bold>Keys</Text>
        {KEYS.slice(0, room).map(([key, what]) => (
          <Text key={key} wrap="truncate-end">{`${key.padEnd(14)}${what}`}</Text>
        ))}
      </Box>
      <Box flexDirection="column" width={24} flexShrink={0}>
        <Text bold>App states</Text>
        {legend.slice(0, room).map((look) => (
          <Text key={look.label} color={look.tone && tone(look.tone)}>{`${look.symbol} ${look.label}`}</Text>
        ))}
      </Box>
    </Box>
  );
}
