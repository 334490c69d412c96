// `ksapp tui --once`: wait for the first status (or give up after a short
// wait), draw one frame, unsubscribe.
import { renderFrame } from './frame.js';
import { initialModel, reduceModel, type Model, type ModelAction } from './model.js';
import type { DashboardSource } from './source.js';

/** How long --once waits for the daemon before printing the "daemon not running" frame. */
export const ONCE_TIMEOUT_MS = 1500;

/** Options of captureOnce. */
export interface OnceOptions {
  readonly columns: number;
  readonly rows: number;
  readonly color: boolean;
  readonly socketHint?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

/** The model once the first status arrived, or after the timeout (then marked lost). */
export function firstModel(source: DashboardSource, timeoutMs: number): Promise<Model> {
  return new Promise((resolve) => {
    let model = initialModel(Date.now());
    let done = false;
    let unsubscribe: (() => void) | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // subscribe may deliver synchronously, before it returned its unsubscribe: then it runs below.
      unsubscribe?.();
      resolve(model);
    };
    const push = (a: ModelAction) => {
      if (done) return;
      model = reduceModel(model, a);
      if (model.status !== null) finish();
    };
    const timer = setTimeout(() => {
      if (model.connection.state !== 'lost') {
        const waited = `no answer within ${(timeoutMs / 1000).toFixed(1)}s`;
        model = reduceModel(model, { kind: 'connection', connected: false, reason: model.connection.reason ?? waited, at: Date.now() });
      }
      finish();
    }, timeoutMs);
    unsubscribe = source.subscribe(
      (message) => push({ kind: 'message', message, at: Date.now() }),
      (connected, reason) => push({ kind: 'connection', connected, reason, at: Date.now() }),
    );
    if (done) unsubscribe();
  });
}

/** One frame of the dashboard and whether the daemon answered (for the CLI's exit status). */
export async function captureOnce(source: DashboardSource, o: OnceOptions): Promise<{ frame: string; connected: boolean }> {
  const model = await firstModel(source, o.timeoutMs ?? ONCE_TIMEOUT_MS);
  const frame = renderFrame(model, { columns: o.columns, rows: o.rows, now: Date.now(), color: o.color, socketHint: o.socketHint });
  return { frame, connected: model.status !== null && model.connection.state === 'connected' };
}
