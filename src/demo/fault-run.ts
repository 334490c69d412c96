// One fault of the demo under the protected app: inject, watch the freeze, repair, and
// count what reached the internet host in the fault's window.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab } from '../lab/index.js';
import { tally } from './classify.js';
import type { FaultSpec } from './faults.js';
import { snapshot, totalSent, type ProtectedRun } from './ksapp-process.js';
import { groupFlags, waitUntil } from './wait.js';

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
  /** Null with a full-tunnel VPN: the unprotected app rides it too, and whether it gets out then is the VPN's business. */
  readonly unprotectedKeptWorking: boolean | null;
  readonly ok: boolean;
}

/** Injects one fault under a running protected app, repairs it, and measures what leaked and how ksapp reacted. */
export async function runFault(lab: Lab, run: ProtectedRun, fault: FaultSpec, utag: string, fullTunnel = false): Promise<FaultResult> {
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
  const unprotectedKeptWorking = fullTunnel ? null : tally(await lab.received(), lab, utag, holdFrom).fromClient > 0;
  const repairAt = Date.now();
  await fault.repair(lab);
  const thawed = await waitUntil(async () => (await groupFlags(run.cgroupPath))?.frozen === false, 10_000);
  const resumed = await waitUntil(async () => tally(await lab.received(), lab, run.tag, repairAt).viaTunnel > 0, 10_000, 50);
  const after = await snapshot(run);
  const window = tally(await lab.received(), lab, run.tag, t0, Date.now());
  const reactionMs = fault.tunnelFails ? await lastReaction(run.eventLog, t0) : null;
  const ok = window.fromClient === 0 && window.ispDns === 0 && thawed && resumed && unprotectedKeptWorking !== false && froze !== false;
  return {
    id: fault.id, label: fault.label, sent: totalSent(after) - totalSent(before), viaTunnel: window.viaTunnel,
    leaked: window.fromClient, ispDns: window.ispDns, froze, reactionMs, detectMs, thawed, resumed, unprotectedKeptWorking, ok,
  };
}

/** One line of the daemon's JSON-lines event log (KSAPP_EVENT_LOG). */
export interface LoggedEvent {
  readonly type: string;
  readonly at: number;
  readonly app?: string;
  readonly tunnel?: string;
  readonly detail?: string;
  readonly reactionMs?: number;
}

/** The daemon's events logged at or after `since` (epoch ms); torn lines are skipped. */
export async function loggedEvents(eventLog: string, since = 0): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for (const line of (await readFile(eventLog, 'utf8').catch(() => '')).split('\n')) {
    try { if (line.trim()) out.push(JSON.parse(line) as LoggedEvent); } catch { /* being written */ }
  }
  return out.filter((e) => e.at >= since);
}

async function lastReaction(eventLog: string, since: number): Promise<number | null> {
  const downs = (await loggedEvents(eventLog, since)).filter((e) => e.type === 'tunnel-down');
  return downs.at(-1)?.reactionMs ?? null;
}
