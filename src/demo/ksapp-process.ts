import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { Lab } from '../lab/index.js';
import { fixturePath } from '../lab/index.js';
import { writeLabConfig } from './lab-config.js';
import { waitUntil } from './wait.js';

/** Path of the built CLI entry, next to this module in dist/. */
export const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));

/** Counters the sender fixture prints on SIGUSR1 and at exit. */
export interface SenderCounters {
  seq: number;
  sent: Record<string, number>;
  errors: Record<string, number>;
  dnsOk: number;
  dnsFailed: number;
}

/** A `ksapp run` of the sender fixture inside the lab's client namespace. */
export interface ProtectedRun {
  readonly name: string;
  readonly tag: string;
  /** Absolute path of the app's cgroup. */
  readonly cgroupPath: string;
  /** The JSON-lines event log ksapp writes (KSAPP_EVENT_LOG). */
  readonly eventLog: string;
  readonly process: ResultPromise;
  /** Latest counters line the sender printed. */
  counters(): Promise<SenderCounters | undefined>;
  /** How many counters lines the sender has printed so far. */
  countersPrinted(): Promise<number>;
  /** Sends SIGTERM to ksapp (forwarded to the app) and waits for its exit status. */
  stop(): Promise<number | undefined>;
}

/** Options for startProtected. */
export interface ProtectedOptions {
  readonly name: string;
  readonly tag: string;
  readonly cgroupRoot: string;
  readonly cgroupParent: string;
  readonly onDrop?: 'freeze' | 'kill' | 'block';
  readonly senderArgs?: readonly string[];
  /** More `ksapp run` options (e.g. `--tunnel A,B`). */
  readonly runArgs?: readonly string[];
  readonly extraConfig?: string;
  /** A config file written already (extraConfig is then unused). */
  readonly config?: string;
}

/** Writes the run's config (unless one is given) and starts `ksapp run -- node sender.mjs …` in the client namespace. */
export async function startProtected(lab: Lab, o: ProtectedOptions): Promise<ProtectedRun> {
  const config = o.config ?? await writeLabConfig(lab, o.name, { cgroupParent: o.cgroupParent, probe: true, extra: o.extraConfig === undefined ? [] : [o.extraConfig] });
  const eventLog = path.join(lab.dir, `${o.name}.events.jsonl`);
  const sender = [process.execPath, fixturePath('sender.mjs'), '--tag', o.tag, '--to', lab.addr.internet4, '--to6', lab.addr.internet6,
    '--interval', '40', ...(o.senderArgs ?? [])];
  const argv = [...lab.nsenterArgs('client'), process.execPath, CLI_PATH, 'run', '--as-root', '--config', config, '--name', o.name,
    '--on-drop', o.onDrop ?? 'freeze', ...(o.runArgs ?? []), '--', ...sender];
  const env = { KSAPP_EVENT_LOG: eventLog, KSAPP_SOCKET: path.join(lab.dir, 'ksapp.sock') };
  const child = execa(argv[0]!, argv.slice(1), { reject: false, env, stdin: 'ignore' });
  const stdoutLog = path.join(lab.dir, `${o.name}.stdout`);
  child.stdout?.on('data', (chunk: Buffer) => void appendFile(stdoutLog, chunk));
  child.stderr?.on('data', (chunk: Buffer) => void appendFile(path.join(lab.dir, `${o.name}.stderr`), chunk));
  return {
    name: o.name, tag: o.tag, eventLog, process: child,
    cgroupPath: path.join(o.cgroupRoot, o.cgroupParent, o.name),
    async counters() {
      const last = (await counterLines(stdoutLog)).at(-1);
      return last ? (JSON.parse(last) as SenderCounters) : undefined;
    },
    async countersPrinted() {
      return (await counterLines(stdoutLog)).length;
    },
    async stop() {
      child.kill('SIGTERM');
      const result = await child;
      return result.exitCode;
    },
  };
}

async function counterLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('{') && l.endsWith('}'));
}

/** Total packets a sender tried to send, over every protocol. */
export function totalSent(c: SenderCounters | undefined): number {
  if (!c) return 0;
  return Object.entries(c.sent).filter(([k]) => !k.endsWith('Skipped')).reduce((sum, [, n]) => sum + n, 0);
}

/** Asks the sender for its counters (SIGUSR1 to the app's main process, the lowest pid) and reads them back. */
export async function snapshot(run: ProtectedRun): Promise<SenderCounters | undefined> {
  const procs = (await readFile(`${run.cgroupPath}/cgroup.procs`, 'utf8').catch(() => '')).split('\n').map(Number).filter((n) => n > 0);
  const main = Math.min(...procs);
  const printed = await run.countersPrinted();
  if (Number.isFinite(main)) {
    try { process.kill(main, 'SIGUSR1'); } catch { /* it may just have exited */ }
  }
  await waitUntil(async () => (await run.countersPrinted()) > printed, 2000, 20);
  return run.counters();
}
