// The dashboard as plain text, for the README, `ksapp tui --once` over ssh and
// logs: the same layout as the live screen, without colour or cursor.
import type { Status } from '../../src/ipc/protocol.js';
import { renderFrame, stripStyles } from '../frame.js';
import { initialModel, reduceModel } from '../model.js';

/** Options of renderStatusText: width (default 80) and the clock for "ago" texts (default now). */
export interface StatusTextOptions {
  readonly columns?: number;
  readonly now?: number;
}

/** A plain-text frame of `status` (every app listed, no colour, no key line). */
export function renderStatusText(status: Status, options: StatusTextOptions = {}): string {
  const now = options.now ?? Date.now();
  const model = reduceModel(initialModel(now), { kind: 'message', message: { type: 'status', status }, at: now });
  const frame = renderFrame(model, { columns: options.columns ?? 80, rows: Number.POSITIVE_INFINITY, now, color: false });
  return stripStyles(frame).split('\n').map((line) => line.trimEnd()).join('\n');
}
