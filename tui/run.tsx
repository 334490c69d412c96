// Entry point of `ksapp tui`: the live dashboard until `q`, or one frame with `once`.
import { render } from 'ink';
import { colorAllowed, ColorContext } from './color.js';
import { Dashboard } from './components/Dashboard.js';
import { TuiError } from './errors.js';
import { captureOnce } from './once.js';
import type { DashboardSource } from './source.js';

/** Options of runDashboard; streams default to the process's own. */
export interface RunDashboardOptions {
  readonly source: DashboardSource;
  readonly stdout?: NodeJS.WriteStream;
  readonly stdin?: NodeJS.ReadStream;
  /** Print one frame (after the first status, or the "daemon not running" frame after a short wait) and return. */
  readonly once?: boolean;
  /** The socket path, named in the "daemon not running" banner. */
  readonly socketHint?: string;
  /** How long `once` waits for the daemon (default 1.5 s). */
  readonly onceTimeoutMs?: number;
}

/** Runs the dashboard: interactive until `q` (or Ctrl-C), or a single frame with `once`. */
export async function runDashboard(opts: RunDashboardOptions): Promise<void> {
  const stdout = opts.stdout ?? process.stdout;
  const color = colorAllowed();
  if (opts.once) {
    // A pipe or an ssh session without a pty has no height: list every app.
    const rows = stdout.isTTY && stdout.rows ? stdout.rows : Number.POSITIVE_INFINITY;
    const { frame } = await captureOnce(opts.source, {
      columns: stdout.columns || 80, rows, color, socketHint: opts.socketHint, timeoutMs: opts.onceTimeoutMs,
    });
    stdout.write(`${frame}\n`);
    return;
  }
  const stdin = opts.stdin ?? process.stdin;
  if (!stdin.isTTY) {
    throw new TuiError('ksapp tui needs a terminal to read keys from', {
      code: 'TUI_NO_TERMINAL', hint: 'run it in a terminal, or use `ksapp tui --once` to print one frame', exitCode: 2,
    });
  }
  const app = render(
    <ColorContext.Provider value={color}>
      <Dashboard source={opts.source} socketHint={opts.socketHint} />
    </ColorContext.Provider>,
    { stdout, stdin, exitOnCtrlC: true, patchConsole: false },
  );
  await app.waitUntilExit();
}
