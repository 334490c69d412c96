import { Box, Text } from 'ink';
import type { AppStatus } from '../../src/ipc/protocol.js';
import { useTone } from '../hooks/use-color.js';
import { appColumns, fit } from '../format/columns.js';
import { appWindow } from '../format/layout.js';
import type { AppRates } from '../rates.js';
import { AppRow } from './AppRow.js';

/** Props: the apps (null before the first status), rates, the rows it may use and the cursor. */
export interface AppsTableProps {
  readonly apps: readonly AppStatus[] | null;
  readonly rates: ReadonlyMap<string, AppRates>;
  readonly width: number;
  /** Rows for app lines, the "+N more" line included (the header is extra). */
  readonly capacity: number;
  /** Index of the selected app, or -1 for no cursor (one-shot frames). */
  readonly selected: number;
}

/** The header row plus as many apps as fit, scrolled to keep the cursor visible. */
export function AppsTable({ apps, rates, width, capacity, selected }: AppsTableProps) {
  const tone = useTone();
  const columns = appColumns(width);
  const header = columns.map((c, i) => (i === 0 ? '' : ' ') + fit(c.header, c.width, c.align)).join('');
  const list = apps ?? [];
  const win = appWindow(list.length, capacity, Math.max(0, selected));
  let empty: string | null = null;
  if (apps === null) empty = 'waiting for the daemon…';
  else if (list.length === 0) empty = 'no protected apps — protect one with `sudo ksapp run -- APP`';
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">{`  ${header}`}</Text>
      {empty !== null && <Text color={tone('gray')} wrap="truncate-end">{`  ${empty}`}</Text>}
      {list.slice(win.start, win.end).map((app, i) => (
        <AppRow key={app.name} app={app} rates={rates.get(app.name)} columns={columns} selected={win.start + i === selected} />
      ))}
      {win.hidden > 0 && (
        <Text color={tone('gray')} wrap="truncate-end">
          {`  +${win.hidden} more${win.start > 0 ? ` (${win.start} above)` : ''}${selected >= 0 ? ' · ↑/↓ to scroll' : ''}`}
        </Text>
      )}
    </Box>
  );
}
