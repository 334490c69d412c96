// Leaks under stress: N fault injections (tunnel deleted, set down, address removed, a
// route around it), one after another, while protected apps (freeze and block policies)
// send TCP and UDP over IPv4 and IPv6 as fast as the sender fixture goes, beside an
// unprotected control; leaks are counted at the internet host. The apps are started by
// ksapp's launcher into their groups and supervised by ksapp's Supervisor (reaction-worker)
// with the hold-down at 0, so each fault hits apps that are running and sending again:
// the daemon's hold-down (up to 30 s after repeated flaps) would keep them frozen instead.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { Cgroup } from '../cgroups/index.js';
import { waitUntil } from '../src/demo/wait.js';
import { fixturePath, type Lab } from '../src/lab/index.js';
import { launchArgv } from '../src/launch/index.js';
import { onCleanup, removeGroupSync, signalPid } from './cleanup.js';
import { eventsOf } from './kernel.js';
import type { LabSession } from './lab-session.js';
import type { RunContext } from './reaction.js';
import { tallyLog, type ProtoTally } from './tally-log.js';
import { Worker } from './worker.js';

/** The fault kinds, injected in turn; `fails` says whether the tunnel really goes down. */
export const STRESS_FAULTS = [
  { id: 'deleted', fails: true, inject: (l: Lab) => l.faults.deleteTunnel(), repair: (l: Lab) => l.faults.restoreTunnel() },
  { id: 'down', fails: true, inject: (l: Lab) => l.faults.setTunnelDown(), repair: (l: Lab) => l.faults.setTunnelUp() },
  { id: 'address', fails: true, inject: (l: Lab) => l.faults.removeTunnelAddress(), repair: (l: Lab) => l.faults.restoreTunnelAddress() },
  { id: 'route-around', fails: false, inject: (l: Lab) => l.faults.addRouteAround(l.addr.internet4, l.addr.internet6), repair: (l: Lab) => l.faults.removeRouteAround() },
] as const;

/** How long the apps run (sending, TCP reconnected) between a repair and the next fault. */
const RUNNING_MS = 30;

/** What the stress run saw. */
export interface StressResult {
  readonly faults: number;
  readonly byKind: Record<string, number>;
  readonly seconds: number;
  /** Per app: packets through the tunnel and from anywhere else (leaks for protected apps). */
  readonly apps: Record<'freeze' | 'block' | 'unprotected', ProtoTally>;
  /** Protected packets that reached the internet host from anywhere but the VPN server. Goal: 0. */
  readonly leaked: number;
  /** Tunnel-down transitions the supervisor reacted to, of the faults that break the tunnel. */
  readonly tunnelDowns: number;
  readonly senderIntervalMs: number;
  /** Why the run stopped early, if it did (the counts cover what ran). */
  readonly error?: string;
}

/** Runs the stress test with `faults` injections (the lab's daemon must be stopped: one table per namespace). */
export async function runStress(ctx: RunContext, s: LabSession, faults: number, intervalMs: number): Promise<StressResult> {
  const { lab } = s;
  const tags = { freeze: `bsf${lab.suffix}`, block: `bsb${lab.suffix}`, unprotected: `bsu${lab.suffix}` };
  const sender = (tag: string): string[] => [process.execPath, fixturePath('sender.mjs'), '--tag', tag, '--to', lab.addr.internet4, '--to6', lab.addr.internet6, '--interval', String(intervalMs)];
  const rel = `ksapp-b-${ctx.suffix}-stress`;
  const parentDir = path.join(ctx.cgroupRoot, rel);
  const undoGroups = onCleanup(`cgroup ${parentDir}`, () => removeGroupSync(parentDir), () => removeGroupSync(parentDir));
  const enter = lab.nsenterArgs('client');
  const procs: ResultPromise[] = [];
  const spawn = (argv: readonly string[]): void => {
    const p = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', buffer: false });
    const pid = p.pid;
    const undo = onCleanup(`sender ${pid}`, () => undefined, () => signalPid(pid, 'SIGKILL'));
    void p.then(() => undo()); // forget the pid once it has exited: it may be reused
    procs.push(p);
  };
  let worker: Worker | undefined;
  const byKind: Record<string, number> = {};
  let done = 0;
  let downs = 0;
  try {
    for (const name of ['freeze', 'block'] as const) {
      // Born frozen: the supervisor thaws them once its rules and route are in place, so no flow
      // starts outside the tunnel (a flow that did would stay black-holed in conntrack, not leak).
      const group = await Cgroup.create(path.join(parentDir, name));
      await group.freeze();
      const [file, args] = launchArgv({ procsFile: path.join(group.path, 'cgroup.procs'), resolvConf: null, user: null, command: sender(tags[name]) });
      spawn([...enter, file, ...args]);
    }
    spawn([...enter, ...sender(tags.unprotected)]);
    await waitUntil(() => ['freeze', 'block'].every((n) => eventsOf(path.join(parentDir, n))?.populated === true), 5000, 20);
    worker = new Worker(enter, {
      iface: lab.tunnel.clientIface, cgroupRoot: ctx.cgroupRoot, parent: rel, holdMs: 0, stableMs: 0, dns: [lab.tunnel.server4, lab.tunnel.server6],
      apps: [{ name: 'freeze', onDrop: 'freeze', restart: false }, { name: 'block', onDrop: 'block', restart: false }],
    });
    await worker.event('tunnel-up', 0, 30_000);
    const start = Date.now();
    let seen: ProtoTally[] = [];
    const flowing = await waitUntil(async () => {
      seen = await tallyLog(lab, Object.values(tags), start);
      return seen[0]!.viaTunnel > 0 && seen[1]!.viaTunnel > 0 && seen[2]!.fromClient > 0;
    }, 20_000, 250);
    if (!flowing) throw new Error(`the senders never all got traffic to the internet host (freeze, block, unprotected: ${JSON.stringify(seen)}; supervisor: ${worker.describe()})`);
    const t0 = Date.now();
    let error: string | undefined;
    for (let i = 0; i < faults && error === undefined; i++) {
      const f = STRESS_FAULTS[i % STRESS_FAULTS.length]!;
      const mark = worker.mark;
      try {
        await f.inject(lab);
        await sleep(20); // the apps keep sending into the broken tunnel for a moment
        await f.repair(lab);
        if (f.fails) {
          // Next fault only once ksapp has let the apps run again, so every fault hits live senders.
          const down = await worker.event('tunnel-down', mark, 5000).catch(() => undefined);
          if (down) downs++;
          await worker.event('tunnel-up', mark, 15_000);
        }
        await sleep(RUNNING_MS);
      } catch (e) {
        error = `fault ${i + 1} (${f.id}): ${String(e)}`;
      }
      byKind[f.id] = (byKind[f.id] ?? 0) + 1;
      done++;
      if ((i + 1) % 100 === 0) ctx.say(`  stress: ${i + 1}/${faults} faults (${Math.round((Date.now() - t0) / 1000)} s)`);
    }
    await sleep(1000); // stragglers in flight reach the recorder
    const seconds = Math.round((Date.now() - t0) / 100) / 10;
    const [freeze, block, unprotected] = await tallyLog(lab, Object.values(tags), start);
    return {
      faults: done, byKind, seconds, apps: { freeze: freeze!, block: block!, unprotected: unprotected! },
      leaked: freeze!.fromClient + block!.fromClient, tunnelDowns: downs, senderIntervalMs: intervalMs, ...(error ? { error } : {}),
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await worker?.stop();
    await undoGroups(); // SIGKILLs what is left in the groups (a frozen sender takes SIGTERM only once thawed)
    await Promise.race([Promise.all(procs), sleep(5000)]);
    for (const p of procs) p.kill('SIGKILL');
  }
}
