import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Lab } from '../lab/index.js';
import { fixturePath } from '../lab/index.js';
import { tally } from './classify.js';
import type { FaultSpec } from './faults.js';
import { startProtected, totalSent, type ProtectedRun } from './ksapp-process.js';
import { groupFlags, tableExists, waitUntil } from './wait.js';

/** The outcome of one injected fault. */
export interface FaultResult {
  readonly id: string;
  readonly label: string;
  /** Packets the protected app (and its children) tried to send during the fault's window. */
  readonly sent: number;
  readonly viaTunnel: number;
  /** Protected packets that reached the internet host from the client's own address: must be 0. */
  readonly leaked: number;
  /** Protected DNS queries that reached the ISP's resolver: must be 0. */
  readonly ispDns: number;
  /** Whether the fault needed a freeze and ksapp froze the app. */
  readonly froze: boolean | null;
  /** ksapp's own reaction time (event seen → cgroup frozen), ms. */
  readonly reactionMs: number | null;
  /** Fault injected → freeze observed, ms (includes detection). */
  readonly detectMs: number | null;
  readonly thawed: boolean;
  /** Protected traffic came through the tunnel again after the repair. */
  readonly resumed: boolean;
  readonly unprotectedKeptWorking: boolean;
  readonly ok: boolean;
}

/** The whole demo's outcome. */
export interface DemoReport {
  readonly mode: string;
  readonly started: boolean;
  readonly faults: readonly FaultResult[];
  readonly totals: { sent: number; viaTunnel: number; leaked: number; ispDns: number; tunnelDnsAnswered: number };
  readonly cleanedUp: boolean;
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/** Options of runScenario. */
export interface ScenarioOptions {
  readonly faults: readonly FaultSpec[];
  readonly cgroupRoot: string;
  readonly progress?: (line: string) => void;
}

/** Runs a protected and an unprotected sender in the lab through every fault and measures what leaked. */
export async function runScenario(lab: Lab, o: ScenarioOptions): Promise<DemoReport> {
  const say = o.progress ?? (() => undefined);
  const ptag = `ksp${lab.suffix}`;
  const utag = `ksu${lab.suffix}`;
  const problems: string[] = [];
  const unprotected = execa(lab.nsenterArgs('client')[0]!, [...lab.nsenterArgs('client').slice(1), process.execPath, fixturePath('sender.mjs'),
    '--tag', utag, '--to', lab.addr.internet4, '--to6', lab.addr.internet6, '--interval', '40'], { reject: false, stdin: 'ignore' });
  const run = await startProtected(lab, {
    name: `demo-${lab.suffix}`, tag: ptag, cgroupRoot: o.cgroupRoot, cgroupParent: `ksapp-lab-${lab.suffix}`,
    senderArgs: ['--dns', `${ptag}.test`, '--fork-depth', '2'],
  });
  const results: FaultResult[] = [];
  let started = false;
  try {
    say('starting a protected and an unprotected app');
    started = await waitUntil(async () => {
      const t = tally(await lab.received(), lab, ptag);
      const u = tally(await lab.received(), lab, utag);
      return t.viaTunnel > 0 && u.fromClient > 0;
    }, 20_000, 100);
    if (!started) problems.push('the protected app never got traffic through the tunnel (see the lab logs)');
    for (const fault of started ? o.faults : []) {
      say(`fault: ${fault.label}`);
      const r = await runFault(lab, run, fault, utag);
      results.push(r);
      const u = tally(await lab.received(), lab, utag);
      say(`  internet host saw — protected app: ${r.viaTunnel} via the tunnel, ${r.leaked} from the client's own address` +
        `${r.froze ? `; frozen in ${r.detectMs} ms` : ''}; unprotected app: ${u.fromClient} so far, from the client's address`);
    }
  } finally {
    const status = await run.stop();
    unprotected.kill('SIGTERM');
    await unprotected;
    if (status !== 0) problems.push(`ksapp run exited with status ${status} (expected the app's 0)`);
  }
  const records = await lab.received();
  const all = tally(records, lab, ptag);
  const final = await run.counters();
  // The daemon `ksapp run` started leaves once nothing is protected, removing its table.
  const cleanedUp = await waitUntil(async () => (await groupFlags(run.cgroupPath)) === undefined && !(await tableExists(lab)), 5000, 50);
  if (!cleanedUp) problems.push('ksapp left its cgroup or firewall table behind');
  const tunnelDnsAnswered = (await lab.tunnelDnsQueries()).filter((q) => q.tag.includes(ptag)).length;
  const totals = { sent: totalSent(final), viaTunnel: all.viaTunnel, leaked: all.fromClient, ispDns: all.ispDns, tunnelDnsAnswered };
  const ok = started && cleanedUp && problems.length === 0 && totals.leaked === 0 && totals.ispDns === 0 && results.every((r) => r.ok);
  return { mode: lab.mode, started, faults: results, totals, cleanedUp, ok, problems };
}

async function runFault(lab: Lab, run: ProtectedRun, fault: FaultSpec, utag: string): Promise<FaultResult> {
  const before = await snapshot(run);
  const t0 = Date.now();
  await fault.inject(lab);
  let froze: boolean | null = null;
  let detectMs: number | null = null;
  if (fault.tunnelFails) {
    froze = await waitUntil(async () => (await groupFlags(run.cgroupPath))?.frozen === true, 8_000);
    detectMs = froze ? Date.now() - t0 : null;
  }
  const holdFrom = Date.now();
  await sleep(1_000);
  const unprotectedKeptWorking = tally(await lab.received(), lab, utag, holdFrom).fromClient > 0;
  const repairAt = Date.now();
  await fault.repair(lab);
  const thawed = await waitUntil(async () => (await groupFlags(run.cgroupPath))?.frozen === false, 10_000);
  const resumed = await waitUntil(async () => tally(await lab.received(), lab, run.tag, repairAt).viaTunnel > 0, 10_000, 50);
  const after = await snapshot(run);
  const window = tally(await lab.received(), lab, run.tag, t0, Date.now());
  const reactionMs = fault.tunnelFails ? await lastReaction(run.eventLog, t0) : null;
  const ok = window.fromClient === 0 && window.ispDns === 0 && thawed && resumed && unprotectedKeptWorking && froze !== false;
  return {
    id: fault.id, label: fault.label, sent: totalSent(after) - totalSent(before), viaTunnel: window.viaTunnel,
    leaked: window.fromClient, ispDns: window.ispDns, froze, reactionMs, detectMs, thawed, resumed, unprotectedKeptWorking, ok,
  };
}

/** Asks the sender for its counters (SIGUSR1 to every process of the app) and reads them back. */
async function snapshot(run: ProtectedRun): ReturnType<ProtectedRun['counters']> {
  const procs = (await readFile(`${run.cgroupPath}/cgroup.procs`, 'utf8').catch(() => '')).split('\n').map(Number).filter((n) => n > 0);
  const main = Math.min(...procs);
  const printed = await run.countersPrinted();
  if (Number.isFinite(main)) {
    try { process.kill(main, 'SIGUSR1'); } catch { /* it may just have exited */ }
  }
  await waitUntil(async () => (await run.countersPrinted()) > printed, 2000, 20);
  return run.counters();
}

async function lastReaction(eventLog: string, since: number): Promise<number | null> {
  const lines = (await readFile(eventLog, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  const downs = lines.map((l) => JSON.parse(l) as { type: string; at: number; reactionMs?: number })
    .filter((e) => e.type === 'tunnel-down' && e.at >= since);
  return downs.at(-1)?.reactionMs ?? null;
}
