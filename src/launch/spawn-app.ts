import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** A running app and its shell-style exit status (128+N when it died of signal N). */
export interface AppProcess {
  readonly child: ChildProcess;
  readonly status: Promise<number>;
}

/**
 * The one place `ksapp run` starts the app, with the terminal inherited.
 * node:child_process rather than execa here: execa's import alone costs
 * about 70 ms, half the start-up budget of `ksapp run`.
 */
export function spawnApp(file: string, args: readonly string[]): AppProcess {
  const child = spawn(file, args, { stdio: 'inherit' });
  const status = new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(signal ? 128 + (constants.signals[signal] ?? 0) : code ?? 1));
  });
  return { child, status };
}
