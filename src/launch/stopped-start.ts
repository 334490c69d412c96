import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnApp, type AppProcess } from './spawn-app.js';

/**
 * Starts the app stopped: a shell that stops itself before it execs the app,
 * so a daemon can move the process into the app's group while nothing of the
 * app has run yet (the way an unprivileged `ksapp run` gets classified before
 * its first instruction). The caller resumes it with SIGCONT.
 */
export function startStopped(command: readonly string[]): AppProcess {
  return spawnApp('/bin/sh', ['-c', 'kill -STOP $$ && exec "$@"', 'ksapp-launch', ...command]);
}

/** The one-letter state of a process from /proc/PID/stat (pure parse). */
export function statState(stat: string): string | undefined {
  return /\) (\S) /.exec(stat)?.[1];
}

/** Waits until a process is stopped (state T); false when it died or the time ran out. */
export async function waitStopped(pid: number, timeoutMs = 5000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const state = statState(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''));
    if (state === 'T') return true;
    if (state === undefined || state === 'Z') return false;
    await sleep(2);
  }
  return false;
}
