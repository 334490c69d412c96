// One frame as a string, without a terminal session: for `ksapp tui --once`,
// renderStatusText and tests. Same components as the live dashboard.
import { renderToString } from 'ink';
import { createElement } from 'react';
import { ColorContext } from './color.js';
import { DashboardView } from './components/DashboardView.js';
import { initialUi } from './keys.js';
import type { Model } from './model.js';

/** How to draw a one-shot frame. */
export interface FrameOptions {
  readonly columns: number;
  /** Terminal rows to fit; Infinity lists every app. */
  readonly rows: number;
  readonly now: number;
  readonly color: boolean;
  readonly socketHint?: string | undefined;
}

/** The dashboard for `model` as text (ANSI styles only where chalk and `color` allow). */
export function renderFrame(model: Model, o: FrameOptions): string {
  const view = createElement(DashboardView, {
    model, ui: initialUi, feedback: null, columns: o.columns, rows: o.rows, now: o.now, socketHint: o.socketHint, interactive: false,
  });
  return renderToString(createElement(ColorContext.Provider, { value: o.color }, view), { columns: o.columns });
}

/** Removes ANSI SGR sequences (bold, colours) from text. */
export function stripStyles(text: string): string {
  // eslint-disable-next-line no-control-regex -- the escape character is the point
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
