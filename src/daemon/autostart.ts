import { closeSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { DAEMON_NODE_FLAGS } from './node-flags.js';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonClient } from '../ipc/client.js';
import { IpcError } from '../ipc/errors.js';
import { checkSocketDir, openOwnLog } from '../ipc/safe-files.js';
import { daemonEnv } from './daemon-env.js';

/** How `ksapp run` starts a daemon when none answers. */
export interface AutostartOptions {
  readonly socketPath: string;
  readonly configFile: string | undefined;
  readonly tunnel: string | undefined;
  readonly dns: readonly string[];
  /** The daemon leaves once nothing is protected (true for daemons `ksapp run` starts). */
  readonly exitWhenIdle?: boolean;
}

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/**
 * Connects to the daemon, starting one first when none answers (as tmux starts
 * its server). The daemon runs in its own session, so closing the terminal of
 * `ksapp run` never ends it; it leaves by itself once nothing is protected.
 */
export async function connectOrStart(o: AutostartOptions): Promise<DaemonClient> {
  try {
    return await DaemonClient.connect(o.socketPath);
  } catch (error) {
    if (!(error instanceof IpcError && error.code === 'DAEMON_NOT_RUNNING')) throw error;
  }
  if (process.getuid?.() !== 0) {
    throw new IpcError(`no ksapp daemon is answering on ${o.socketPath}, and only root can start one`, {
      code: 'DAEMON_NOT_RUNNING', hint: 'start it once as root: `sudo ksapp daemon` (or `systemctl enable --now ksapp`), then run this again',
    });
  }
  await mkdir(path.dirname(o.socketPath), { recursive: true, mode: 0o755 });
  await checkSocketDir(path.dirname(o.socketPath));
  const logFile = `${o.socketPath}.log`;
  const log = openOwnLog(logFile);
  const args = [CLI, 'daemon', '--foreground', ...(o.exitWhenIdle === false ? [] : ['--exit-when-idle']), '--socket', o.socketPath,
    ...(o.configFile ? ['--config', o.configFile] : []), ...(o.tunnel ? ['--tunnel', o.tunnel] : []),
    ...o.dns.flatMap((d) => ['--dns', d])];
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, ...args], { detached: true, stdio: ['ignore', log, log], env: daemonEnv(process.env, 0) });
  closeSync(log);
  let exited: number | null = null;
  child.once('exit', (code) => { exited = code ?? 1; });
  child.once('error', () => { exited = 1; });
  child.unref();
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    if (exited !== null) break;
    try {
      return await DaemonClient.connect(o.socketPath);
    } catch {
      await sleep(25);
    }
  }
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lastError = text.split('\n').filter((l) => l.startsWith('Error:') || l.startsWith('Hint:') || l.startsWith('Caused by:')).slice(-4).join('\n');
  throw new IpcError(`could not start the ksapp daemon${exited !== null ? ` (it exited with status ${exited})` : ''}${lastError ? `:\n${lastError}` : ''}`, {
    code: 'DAEMON_START_FAILED', exitCode: exited === 2 ? 2 : 1, hint: `its log is ${logFile}`,
  });
}
