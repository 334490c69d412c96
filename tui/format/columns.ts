// The apps table's columns for a given terminal width. Widths are fixed per
// column so rows line up; the name takes what is left. Rates of packets and of
// drops join in wider terminals; at 80 columns the byte rate stays.
import type { AppStatus } from '../../src/ipc/protocol.js';
import type { AppRates } from '../rates.js';
import { appStateLook } from './states.js';
import { formatBytes, formatCount, formatRate } from './units.js';

/** The data columns of the apps table. */
export type ColumnKey = 'name' | 'state' | 'policy' | 'user' | 'procs' | 'packets' | 'packetRate' | 'bytes' | 'byteRate' | 'dropped' | 'dropRate';

/** One column: what it shows, its header and its width in cells. */
export interface Column {
  readonly key: ColumnKey;
  readonly header: string;
  readonly width: number;
  readonly align: 'left' | 'right';
}

/** Cells before each row: the selection marker and a space. */
export const MARKER_WIDTH = 2;
const MIN_NAME = 8;
const MAX_NAME = 32;

const FIXED: readonly Column[] = [
  { key: 'state', header: 'STATE', width: 15, align: 'left' },
  { key: 'policy', header: 'POLICY', width: 6, align: 'left' },
  { key: 'user', header: 'USER', width: 7, align: 'left' },
  { key: 'procs', header: 'PROC', width: 4, align: 'right' },
  { key: 'packets', header: 'PKTS', width: 5, align: 'right' },
  { key: 'packetRate', header: 'PKT/S', width: 7, align: 'right' },
  { key: 'bytes', header: 'BYTES', width: 5, align: 'right' },
  { key: 'byteRate', header: 'RATE', width: 7, align: 'right' },
  { key: 'dropped', header: 'DROP', width: 5, align: 'right' },
  { key: 'dropRate', header: 'DROP/S', width: 6, align: 'right' },
];

// Dropped first when the terminal is narrow, in this order.
const OPTIONAL: readonly ColumnKey[] = ['dropRate', 'packetRate'];

function widthOf(columns: readonly Column[], name: number): number {
  return MARKER_WIDTH + name + columns.reduce((sum, c) => sum + c.width + 1, 0);
}

/** The columns that fit `total` cells (the name column first, flexible). */
export function appColumns(total: number): Column[] {
  let fixed = [...FIXED];
  for (const key of OPTIONAL) {
    if (widthOf(fixed, MIN_NAME + 8) <= total) break;
    fixed = fixed.filter((c) => c.key !== key);
  }
  const name = Math.max(MIN_NAME, Math.min(MAX_NAME, total - widthOf(fixed, 0)));
  return [{ key: 'name', header: 'APP', width: name, align: 'left' }, ...fixed];
}

/** The text of every cell of one app's row (the state cell includes its symbol). */
export function appCells(app: AppStatus, rates: AppRates | undefined): Record<ColumnKey, string> {
  const look = appStateLook(app.state);
  return {
    // Traffic routed for others is marked by what it is: a container, an interface, LAN hosts.
    name: app.kind && app.kind !== 'process' ? `${app.name} ‹${app.kind}›` : app.name,
    state: `${look.symbol} ${look.label}`,
    policy: app.policy,
    user: app.user || String(app.uid),
    procs: String(app.pids.length),
    packets: formatCount(app.packets.tunnel),
    packetRate: formatRate(rates?.packetsPerSec ?? null, 'count'),
    bytes: formatBytes(app.bytes.tunnel),
    byteRate: formatRate(rates?.bytesPerSec ?? null, 'bytes'),
    dropped: formatCount(app.packets.dropped),
    dropRate: formatRate(rates?.droppedPerSec ?? null, 'count'),
  };
}

/** Pads or cuts `text` to exactly `width` cells (cut text ends in …). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const chars = [...text];
  if (chars.length > width) return width <= 0 ? '' : `${chars.slice(0, width - 1).join('')}…`;
  const pad = ' '.repeat(width - chars.length);
  return align === 'left' ? text + pad : pad + text;
}
