// The keyboard, as a pure function: (UI state, key, app names) → new UI state
// and maybe an action for the daemon. `k` is kill (as the issue and the
// end-to-end test press it), so selection is ↑/↓, j (down) and Ctrl-P/Ctrl-N.
import type { AppOp } from './source.js';

/** Operations that need a y/n answer first: they cannot be undone from here. */
export type ConfirmOp = 'kill' | 'release';

/** What the screen is showing: the dashboard, the help, or a y/n question. */
export type Mode =
  | { readonly kind: 'normal' }
  | { readonly kind: 'help' }
  | { readonly kind: 'confirm'; readonly op: ConfirmOp; readonly name: string };

/** UI state: the selected app (by name, so it stays put when the list changes) and the mode. */
export interface Ui {
  readonly selected: string | null;
  /** Last known index of the selection, used when the selected app disappears. */
  readonly index: number;
  readonly mode: Mode;
}

/** The parts of Ink's Key the dashboard reads. */
export interface KeyLike {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
  readonly escape?: boolean;
  readonly ctrl?: boolean;
}

/** What a key did. */
export interface KeyResult {
  readonly ui: Ui;
  readonly act?: { readonly op: AppOp; readonly name: string };
  readonly quit?: boolean;
}

/** The UI state at start. */
export const initialUi: Ui = { selected: null, index: 0, mode: { kind: 'normal' } };

/** Index of the selected app in `names` (falls back to the last index when it vanished). */
export function selectedIndex(ui: Ui, names: readonly string[]): number {
  const i = ui.selected === null ? -1 : names.indexOf(ui.selected);
  if (i >= 0) return i;
  return Math.max(0, Math.min(ui.index, names.length - 1));
}

function moveTo(ui: Ui, names: readonly string[], index: number): Ui {
  if (names.length === 0) return { ...ui, selected: null, index: 0 };
  const i = Math.max(0, Math.min(names.length - 1, index));
  return { ...ui, selected: names[i] ?? null, index: i };
}

function movement(input: string, key: KeyLike, page: number): number | 'home' | 'end' | null {
  if (key.upArrow || (key.ctrl && input === 'p')) return -1;
  if (key.downArrow || input === 'j' || (key.ctrl && input === 'n')) return 1;
  if (key.pageUp) return -page;
  if (key.pageDown) return page;
  if (key.home || input === 'g') return 'home';
  if (key.end || input === 'G') return 'end';
  return null;
}

const DIRECT: Readonly<Record<string, AppOp>> = { f: 'freeze', t: 'thaw' };
const CONFIRMED: Readonly<Record<string, ConfirmOp>> = { k: 'kill', r: 'release' };

/** Applies one key press. `page` is how many rows PgUp/PgDn move. */
export function interpretKey(ui: Ui, input: string, key: KeyLike, names: readonly string[], page = 10): KeyResult {
  const mode = ui.mode;
  const normal: Ui = { ...ui, mode: { kind: 'normal' } };
  if (mode.kind === 'confirm') {
    // Only an explicit y acts; anything else cancels, so a stray key never kills.
    if (input === 'y' || input === 'Y') return { ui: normal, act: { op: mode.op, name: mode.name } };
    return { ui: normal };
  }
  if (input === 'q' && !key.ctrl) return { ui, quit: true };
  if (mode.kind === 'help') return { ui: input === '?' || key.escape ? normal : ui };
  if (input === '?') return { ui: { ...ui, mode: { kind: 'help' } } };
  const move = movement(input, key, page);
  const current = selectedIndex(ui, names);
  if (move === 'home') return { ui: moveTo(ui, names, 0) };
  if (move === 'end') return { ui: moveTo(ui, names, names.length - 1) };
  if (move !== null) return { ui: moveTo(ui, names, current + move) };
  const name = names[current];
  if (name === undefined || key.ctrl) return { ui };
  const direct = DIRECT[input];
  if (direct !== undefined) return { ui: moveTo(ui, names, current), act: { op: direct, name } };
  const confirm = CONFIRMED[input];
  if (confirm !== undefined) return { ui: { ...moveTo(ui, names, current), mode: { kind: 'confirm', op: confirm, name } } };
  return { ui };
}
