import { Box, Text } from 'ink';
import type { EventRecord } from '../../src/ipc/protocol.js';
import { useTone } from '../hooks/use-color.js';
import { fit } from '../format/columns.js';
import { EVENT_LABEL_WIDTH, eventParts } from '../format/events.js';

/** Props: the whole log (newest last) and how many lines to show. */
export interface EventLogProps {
  readonly events: readonly EventRecord[];
  readonly rows: number;
  readonly width: number;
}

/** The newest events, oldest first, under a rule. */
export function EventLog({ events, rows, width }: EventLogProps) {
  const tone = useTone();
  const shown = events.slice(-Math.max(1, rows));
  const title = '── events ';
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">{title + '─'.repeat(Math.max(0, width - title.length))}</Text>
      {shown.length === 0 && <Text color={tone('gray')}>  no events yet</Text>}
      {shown.map((e, i) => {
        const { time, look, text } = eventParts(e);
        return (
          <Text key={`${e.at}-${i}`} wrap="truncate-end">
            {`${time} `}
            <Text color={tone(look.tone)}>{`${look.symbol} ${fit(look.label, EVENT_LABEL_WIDTH)}`}</Text>
            {` ${text}`}
          </Text>
        );
      })}
    </Box>
  );
}
