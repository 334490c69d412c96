// How the terminal's rows are shared out. Ink clears the whole screen when a
// frame is as tall as the terminal (a visible flicker), so frames stay one row
// shorter than the terminal.

/** Rows the event log gets at most, and at least when the terminal allows. */
export const MAX_EVENT_ROWS = 8;
const MIN_EVENT_ROWS = 4;

/** Rows for the apps list (its "+N more" line included) and for the event log. */
export interface Budget {
  readonly appRows: number;
  readonly eventRows: number;
}

/**
 * Shares `free` rows between apps and events: apps get what they need while
 * the log keeps a few lines; spare rows go to the log up to MAX_EVENT_ROWS.
 */
export function shareRows(free: number, apps: number, events: number): Budget {
  const usable = Math.max(2, free);
  const minEvents = Math.min(MIN_EVENT_ROWS, Math.max(1, Math.floor(usable / 3)), Math.max(1, events));
  const appRows = Math.max(1, Math.min(Math.max(1, apps), usable - minEvents));
  const eventRows = Math.max(minEvents, Math.min(MAX_EVENT_ROWS, events, usable - appRows));
  return { appRows, eventRows };
}

/** Which apps a list of `capacity` rows shows so that `selected` is visible. */
export interface AppWindow {
  readonly start: number;
  readonly end: number;
  /** Apps not shown (above and below the window). */
  readonly hidden: number;
}

/** The visible slice of `total` apps in `capacity` rows, one row kept for "+N more" when they do not all fit. */
export function appWindow(total: number, capacity: number, selected: number): AppWindow {
  if (total <= capacity) return { start: 0, end: total, hidden: 0 };
  const shown = Math.max(1, capacity - 1);
  const start = Math.min(Math.max(0, selected - shown + 1), total - shown);
  return { start, end: start + shown, hidden: total - shown };
}
