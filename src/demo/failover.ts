// The demo's failover: with two VPN servers, an app started with a failover order (the
// first tunnel, then the second) keeps working through the second server while the
// first is dead, leaks nothing, and goes back once the first server returns. It runs
// under a daemon of its own (started by its `ksapp run`), after the fault rows, so their
// figures and the first tunnel's hold-down are those of a one-tunnel run.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab, TunnelPlan } from '../lab/index.js';
import { tally } from './classify.js';
import { loggedEvents } from './fault-run.js';
import type { FaultSpec } from './faults.js';
import { frozenSpan, preciseNow, watchFreezes } from './freeze-watch.js';
import { startProtected, totalSent, type ProtectedRun } from './ksapp-process.js';
import { secondTunnelLines, writeLabConfig } from './lab-config.js';
import { switchGap } from './switch-gap.js';
import { groupFlags, tableExists, waitUntil } from './wait.js';

/** The outcome of the failover, over the failover app's whole life. */
export interface FailoverResult {
  /** The fault that took the first tunnel away. */
  readonly id: string;
  readonly label: string;
  /** The app's failover order: the first tunnel, then the second. */
  readonly tunnels: readonly string[];
  readonly sent: number;
  readonly viaFirst: number;
  readonly viaSecond: number;
  /** Its packets that reached the internet host from the client's own address: must be 0. */
  readonly leaked: number;
  /** Its DNS queries that reached the ISP's resolver: must be 0. */
  readonly ispDns: number;
  /** Its DNS queries the second tunnel's resolver answered. */
  readonly dnsViaSecond: number;
  /** Its traffic came through the second server after the fault. */
  readonly moved: boolean;
  /** Fault injected → app frozen for its move (cgroup.events, seen from outside), ms. */
  readonly detectMs: number | null;
  /** Frozen → thawed on the second tunnel (seen from outside), ms. */
  readonly frozenMs: number | null;
  /** The daemon's own figure: tunnel event seen → app frozen, moved and thawed (the tunnel-down's reactionMs). */
  readonly moveMs: number | null;
  /** At the internet host: its last packet through the first tunnel → its first through the second, ms. */
  readonly gapMs: number | null;
  /** Its traffic came through the first tunnel again once the server was back. */
  readonly movedBack: boolean;
  /** Its last packet through the second tunnel → its first through the first again, ms. */
  readonly backGapMs: number | null;
  readonly cleanedUp: boolean;
  readonly ok: boolean;
}

/** Options of runFailover. */
export interface FailoverOptions {
  readonly fault: FaultSpec;
  readonly cgroupRoot: string;
  readonly cgroupParent: string;
}

/** Runs the failover app through `fault` on the first tunnel; the lab must have two. */
export async function runFailover(lab: Lab, o: FailoverOptions): Promise<{ result: FailoverResult; problems: string[] }> {
  const second = lab.tunnel2;
  if (!second) throw new Error('the failover needs a lab with two tunnels (createLab({ tunnels: 2 }))');
  const tunnels = [lab.tunnel.clientIface, second.clientIface];
  const name = `demo-fo-${lab.suffix}`;
  const tag = `ksf${lab.suffix}`;
  const problems: string[] = [];
  const config = await writeLabConfig(lab, name, { cgroupParent: o.cgroupParent, probe: true, extra: secondTunnelLines(lab) });
  const run = await startProtected(lab, {
    name, tag, config, cgroupRoot: o.cgroupRoot, cgroupParent: o.cgroupParent, runArgs: ['--tunnel', tunnels.join(',')],
    // Asked of the first tunnel's resolver directly (1 s timeout): ksapp sends each query to the resolver of the tunnel the app rides.
    senderArgs: ['--dns', `${tag}.test`, '--resolver', lab.tunnel.server4],
  });
  let window: Window | undefined;
  try {
    if (await waitUntil(async () => tally(await lab.received(), lab, tag).viaTunnel > 0, 20_000, 100)) window = await failOver(lab, run, o.fault, second);
    else problems.push('the failover app never got traffic through the first tunnel (see the lab logs)');
  } finally {
    const status = await run.stop();
    if (status !== 0) problems.push(`ksapp run --tunnel ${tunnels.join(',')} exited with status ${status} (expected the app's 0)`);
  }
  const cleanedUp = await waitUntil(async () => (await groupFlags(run.cgroupPath)) === undefined && !(await tableExists(lab)), 5000, 50);
  if (!cleanedUp) problems.push('ksapp left the failover app\'s cgroup or its firewall table behind');
  const all = tally(await lab.received(), lab, tag);
  const dnsViaSecond = await dnsVia(lab, tag, second);
  const moved = window?.moved ?? false;
  const movedBack = window?.movedBack ?? false;
  if (window && !moved) problems.push(`the failover app got no traffic through the second tunnel after: ${o.fault.label}`);
  if (window && !movedBack) problems.push('the failover app did not come back to the first tunnel when its server returned');
  const result: FailoverResult = {
    id: o.fault.id, label: o.fault.label, tunnels, sent: totalSent(await run.counters()), viaFirst: all.viaTunnel, viaSecond: all.viaTunnel2,
    leaked: all.fromClient, ispDns: all.ispDns, dnsViaSecond, moved, detectMs: window?.detectMs ?? null, frozenMs: window?.frozenMs ?? null,
    moveMs: window?.moveMs ?? null, gapMs: window?.gapMs ?? null, movedBack, backGapMs: window?.backGapMs ?? null, cleanedUp,
    ok: window !== undefined && moved && movedBack && all.fromClient === 0 && all.ispDns === 0 && cleanedUp && problems.length === 0,
  };
  return { result, problems };
}

/** What was seen between the fault and the return to the first tunnel. */
type Window = Pick<FailoverResult, 'moved' | 'movedBack' | 'detectMs' | 'frozenMs' | 'moveMs' | 'gapMs' | 'backGapMs'>;

/** Milliseconds to the microsecond. */
const us = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The app's DNS queries the resolver of `tunnel` answered. */
async function dnsVia(lab: Lab, tag: string, tunnel: TunnelPlan): Promise<number> {
  return (await lab.tunnelDnsQueries()).filter((q) => q.tag.includes(tag) && (q.dst === tunnel.server4 || q.dst === tunnel.server6)).length;
}

async function failOver(lab: Lab, run: ProtectedRun, fault: FaultSpec, second: TunnelPlan): Promise<Window> {
  await sleep(500); // steady traffic through the first tunnel
  const watch = watchFreezes(run.cgroupPath);
  try {
    const t0 = preciseNow();
    await fault.inject(lab);
    const moved = await waitUntil(async () => tally(await lab.received(), lab, run.tag, t0).viaTunnel2 > 0, 10_000, 50);
    // A second of traffic through the second server (and a lookup its resolver answers: one sent to the dead
    // server's resolver before the move times out first): the app keeps working while the first is dead.
    await Promise.all([sleep(1_000), waitUntil(async () => (await dnsVia(lab, run.tag, second)) > 0, 3_000, 100)]);
    const repairAt = Date.now();
    await fault.repair(lab);
    const movedBack = await waitUntil(async () => tally(await lab.received(), lab, run.tag, repairAt).viaTunnel > 0, 15_000, 50);
    await sleep(500); // and steady through the first again
    const records = await lab.received();
    const span = frozenSpan(watch.changes, t0);
    const down = (await loggedEvents(run.eventLog, Math.floor(t0))).find((e) => e.type === 'tunnel-down' && (e.tunnel ?? lab.tunnel.clientIface) === lab.tunnel.clientIface);
    return {
      moved, movedBack, detectMs: span ? us(span.frozeAt - t0) : null, frozenMs: span ? us(span.thawedAt - span.frozeAt) : null, moveMs: down?.reactionMs ?? null,
      gapMs: switchGap(records, lab, run.tag, t0, 'tunnel', 'tunnel2'), backGapMs: switchGap(records, lab, run.tag, repairAt, 'tunnel2', 'tunnel'),
    };
  } finally {
    watch.close();
  }
}
