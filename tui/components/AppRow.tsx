import { Text } from 'ink';
import type { AppStatus } from '../../src/ipc/protocol.js';
import { useTone } from '../hooks/use-color.js';
import { appCells, fit, type Column } from '../format/columns.js';
import { appStateLook } from '../format/states.js';
import type { AppRates } from '../rates.js';

/** Props: one app, its rates, the table's columns and whether the cursor is on it. */
export interface AppRowProps {
  readonly app: AppStatus;
  readonly rates: AppRates | undefined;
  readonly columns: readonly Column[];
  readonly selected: boolean;
}

/** One line of the apps table; the state cell is coloured, drops are flagged. */
export function AppRow({ app, rates, columns, selected }: AppRowProps) {
  const tone = useTone();
  const cells = appCells(app, rates);
  const stateTone = tone(appStateLook(app.state).tone);
  return (
    <Text wrap="truncate-end" bold={selected}>
      {selected ? '› ' : '  '}
      {columns.map((c, i) => {
        const text = (i === 0 ? '' : ' ') + fit(cells[c.key], c.width, c.align);
        if (c.key === 'state') return <Text key={c.key} color={stateTone}>{text}</Text>;
        // Dropped packets are leaks the firewall stopped: worth a glance, not an alarm.
        if (c.key === 'dropped' && app.packets.dropped > 0) return <Text key={c.key} color={tone('yellow')}>{text}</Text>;
        if (c.key === 'name' && selected) return <Text key={c.key} inverse>{text}</Text>;
        return <Text key={c.key}>{text}</Text>;
      })}
    </Text>
  );
}
