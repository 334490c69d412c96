// The attacker of the flood section: the socket load fixture run as nobody inside the
// namespace, a few request floods and one connection flood, stopped with SIGTERM so each
// says what it got.
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { waitUntil } from '../src/demo/wait.js';
import { collectJsonLines, fixturePath } from '../src/lab/index.js';
import { onCleanup, signalPid } from './cleanup.js';
import type { FloodResult } from './flood.js';

/** Request floods on this many connections (each keeps 400 requests queued), and this many connection attempts kept going. */
export const REQUEST_CONNECTIONS = 4;
export const CHURN = 500;
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

/** One running load and the JSON lines it printed. */
export interface Load { readonly proc: ResultPromise; readonly lines: Array<Record<string, unknown>> }

/** Starts the attacker's loads as nobody and waits until they are in full swing. */
export async function startLoads(enter: readonly string[], socket: string): Promise<Load[]> {
  const start = (mode: string, n: number): Load => {
    const argv = [...enter, ...NOBODY, process.execPath, fixturePath('ipc-load.mjs'), socket, mode, String(n)];
    const proc = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', buffer: false });
    const pid = proc.pid;
    onCleanup(`load ${pid}`, () => { signalPid(pid, 'SIGKILL'); }, () => signalPid(pid, 'SIGKILL'));
    return { proc, lines: collectJsonLines(proc.stdout!) };
  };
  // The request floods first: the connection flood then takes every place left.
  const floods = Array.from({ length: REQUEST_CONNECTIONS }, () => start('flood-loop', 400));
  if (!(await waitUntil(() => floods.every((l) => l.lines.length > 0), 30_000, 20))) throw new Error('the request floods did not start');
  if (floods.some((l) => !l.lines[0]?.flooding)) throw new Error(`a request flood was refused: ${JSON.stringify(floods.map((l) => l.lines[0]))}`);
  const churn = start('churn', CHURN);
  const loads = [...floods, churn];
  if (!(await waitUntil(() => churn.lines.length > 0, 30_000, 20))) throw new Error('the connection flood did not start');
  return loads;
}

/** Stops the loads (SIGTERM: each prints what it got) and returns their last lines. */
export async function stopLoads(loads: readonly Load[]): Promise<Array<Record<string, unknown>>> {
  for (const l of loads) l.proc.kill('SIGTERM');
  await Promise.all(loads.map((l) => Promise.race([l.proc, sleep(5000)])));
  for (const l of loads) l.proc.kill('SIGKILL');
  return loads.map((l) => l.lines.at(-1) ?? {});
}

/** Adds what the loads reported to the attacker's figures. */
export function tally(a: FloodResult['attacker'], last: ReadonlyArray<Record<string, unknown>>): FloodResult['attacker'] {
  const n = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return {
    ...a,
    requestsAnswered: a.requestsAnswered + last.reduce((s, l) => s + n(l.answered), 0),
    connectionsAccepted: a.connectionsAccepted + last.reduce((s, l) => s + n(l.ok), 0),
    connectionsRefused: a.connectionsRefused + last.reduce((s, l) => s + n(l.refused), 0),
  };
}
