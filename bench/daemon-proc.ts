// A real `ksapp daemon --foreground` inside a namespace, with its socket, event log and
// config in a directory of this run; driven over its socket like `ksapp` itself does.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { CLI_PATH } from '../src/demo/ksapp-process.js';
import { DAEMON_NODE_FLAGS } from '../src/daemon/node-flags.js';
import { waitUntil } from '../src/demo/wait.js';
import { DaemonClient } from '../src/ipc/client.js';
import type { Status } from '../src/ipc/protocol.js';
import { onCleanup, signalPid } from './cleanup.js';

/** One line of the daemon's JSON-lines event log (KSAPP_EVENT_LOG). */
export interface LoggedEvent {
  readonly at: number;
  readonly type: string;
  readonly app?: string;
  readonly detail?: string;
  readonly reactionMs?: number;
}

/** Parses the event log text; torn lines are skipped (pure). */
export function parseEventLog(text: string): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  for (const line of text.split('\n')) {
    try { if (line.trim()) out.push(JSON.parse(line) as LoggedEvent); } catch { /* being written */ }
  }
  return out;
}

/** A running daemon. */
export interface DaemonHandle {
  readonly pid: number;
  readonly socket: string;
  readonly eventLog: string;
  /** Runs the ksapp CLI in the daemon's namespace, talking to this daemon. */
  cli(args: readonly string[], options?: Options): ResultPromise;
  status(): Promise<Status>;
  events(): Promise<LoggedEvent[]>;
  /** Waits for an event of this type logged at or after `since` (epoch ms); undefined on timeout. */
  waitEvent(type: string, since: number, timeoutMs?: number): Promise<LoggedEvent | undefined>;
  /** SIGTERM, then waits for it to leave. */
  stop(): Promise<void>;
}

/** Writes a daemon config (YAML) into `dir` and returns its path. */
export async function writeConfig(dir: string, lines: readonly string[]): Promise<string> {
  const file = path.join(dir, 'bench.yaml');
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

/** Starts the daemon in a namespace (argv prefix `enter`) and waits until its socket answers and the tunnel is up. */
export async function startDaemon(enter: readonly string[], dir: string, config: string): Promise<DaemonHandle> {
  const socket = path.join(dir, 'ksapp.sock');
  const eventLog = path.join(dir, 'events.jsonl');
  const env = { KSAPP_SOCKET: socket, KSAPP_EVENT_LOG: eventLog };
  // Started as `ksapp run`, `ksapp daemon` and the unit start it (see DAEMON_NODE_FLAGS).
  const argv = [...enter, process.execPath, ...DAEMON_NODE_FLAGS, CLI_PATH, 'daemon', '--foreground', '--config', config];
  const proc = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', env, stdout: { file: `${socket}.log`, append: true }, stderr: { file: `${socket}.log`, append: true } });
  const pid = proc.pid!;
  const undo = onCleanup(`daemon ${pid}`, async () => { proc.kill('SIGTERM'); await Promise.race([proc, new Promise((r) => setTimeout(r, 5000))]); signalPid(pid, 'SIGKILL'); await proc; },
    () => signalPid(pid, 'SIGKILL'));
  const status = async (): Promise<Status> => {
    const client = await DaemonClient.connect(socket);
    try { return await client.request<Status>({ op: 'status' }); } finally { client.close(); }
  };
  const events = async (): Promise<LoggedEvent[]> => parseEventLog(await readFile(eventLog, 'utf8').catch(() => ''));
  const handle: DaemonHandle = {
    pid, socket, eventLog, status, events,
    cli: (args, options = {}) => {
      const a = [...enter, process.execPath, CLI_PATH, ...args];
      return execa(a[0]!, a.slice(1), { reject: false, stdin: 'ignore', ...options, env: { ...env, ...(options.env ?? {}) } });
    },
    async waitEvent(type, since, timeoutMs = 10_000) {
      let found: LoggedEvent | undefined;
      await waitUntil(async () => { found = (await events()).find((e) => e.type === type && e.at >= since); return found !== undefined; }, timeoutMs, 5);
      return found;
    },
    stop: undo,
  };
  const up = await waitUntil(async () => (await status().catch(() => undefined))?.tunnel.state === 'up', 20_000, 50);
  if (!up) {
    const log = await readFile(`${socket}.log`, 'utf8').catch(() => '');
    await undo();
    throw new Error(`the ksapp daemon did not come up with the tunnel up: ${log.trim().split('\n').slice(-4).join(' | ') || 'no log'}`);
  }
  return handle;
}
