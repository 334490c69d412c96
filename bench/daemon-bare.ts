// The real daemon in a bare namespace with a tun "tunnel": its idle cost with many apps,
// and a few reaction trials read from its own event log. Trials are spaced by the
// daemon's hold-down (a down within 10 s of an up doubles the next hold), so there are few.
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '../src/demo/wait.js';
import { DaemonClient } from '../src/ipc/client.js';
import { IpBatch, Tun } from './bare-ns.js';
import { withBareDaemon } from './bare-daemon.js';
import type { DaemonHandle } from './daemon-proc.js';
import { msBetween, observe } from './kernel.js';
import { childrenOf, cpuTicks, rssKiB, USER_HZ } from './proc-stat.js';
import { fillGroups } from './procs.js';
import type { RunContext } from './reaction.js';
import { rounded, summarize, type Summary } from './stats.js';

/** What the daemon section measures. */
export interface DaemonResult {
  readonly idle: {
    apps: number; seconds: number; rssMiB: number; cpuPercent: number; cpuMs: number; childrenCpuMs: number;
    /** Time of each `register` request, in order (the table grows by one app each time). */
    registerMs: number[]; register: Summary | null;
    /** CPU ticks (10 ms) the daemon used in each second of the sample. */
    ticksPerSecond: number[];
  } | null;
  readonly reaction: { procs: number; ksapp: Summary | null; outside: Summary | null; failedTrials: number } | null;
  readonly error?: string;
}

/** Quiet time between the last registration and the CPU sample. */
const SETTLE_MS = 10_000;

/** Options of the daemon section. */
export interface DaemonSpec { readonly idleApps: number; readonly idleSeconds: number; readonly trials: number; readonly procs: number }

/** Starts a daemon in a bare namespace, measures it idle with many apps, then times a few reactions. */
export async function runDaemonSection(ctx: RunContext, spec: DaemonSpec): Promise<DaemonResult> {
  let idle: DaemonResult['idle'] = null;
  let reaction: DaemonResult['reaction'] = null;
  try {
    return await withBareDaemon(ctx, 'daemon', await mkdtemp(`/tmp/ksb-${ctx.suffix}-`), `tb${ctx.suffix}`, async ({ daemon, batch, tun }) => {
      ctx.say(`  daemon pid ${daemon.pid} up; registering ${spec.idleApps} apps`);
      const t1 = Date.now();
      idle = await measureIdle(daemon, spec);
      ctx.say(`  idle measured (${Date.now() - t1} ms)`);
      const t2 = Date.now();
      await emptyApps(daemon);
      ctx.say(`  apps removed (${Date.now() - t2} ms)`);
      reaction = await daemonTrials(ctx, daemon, batch, tun, spec);
      return { idle, reaction };
    });
  } catch (error) {
    return { idle, reaction, error: String(error) };
  }
}

/**
 * Registers apps over the socket as `ksapp run` does: one connection per app, which stays open and
 * subscribed to events (as each `ksapp run` waits for its restart event), one process each; then
 * samples RSS and CPU.
 */
async function measureIdle(daemon: DaemonHandle, spec: DaemonSpec): Promise<NonNullable<DaemonResult['idle']>> {
  const clients: DaemonClient[] = [];
  const groups: string[] = [];
  const registerMs: number[] = [];
  try {
    for (let i = 0; i < spec.idleApps; i++) {
      const client = await DaemonClient.connect(daemon.socket);
      clients.push(client);
      const t = process.hrtime.bigint();
      const reg = await client.request<{ cgroup: string }>({ op: 'register', name: `idle${i + 1}`, onDrop: 'freeze', command: ['sleep'] });
      registerMs.push(Math.round(msBetween(t, process.hrtime.bigint()) * 10) / 10);
      groups.push(reg.cgroup);
      await client.subscribe(() => undefined, { status: false });
    }
    await fillGroups(groups, 1);
    // The registration burst is activity, not idle: V8's memory reducer collects its garbage some seconds later.
    await sleep(SETTLE_MS);
    return await sampleIdle(daemon, spec, registerMs);
  } finally {
    for (const client of clients) client.close();
  }
}

async function sampleIdle(daemon: DaemonHandle, spec: DaemonSpec, registerMs: number[]): Promise<NonNullable<DaemonResult['idle']>> {
  const pid = daemon.pid;
  const kids = childrenOf(pid);
  const before = { self: cpuTicks(pid), kids: kids.map(cpuTicks) };
  const t0 = Date.now();
  const perSecond: number[] = [];
  for (let s = 0, last = before.self; s < spec.idleSeconds; s++) {
    await sleep(1000);
    const now = cpuTicks(pid);
    perSecond.push(now - last);
    last = now;
  }
  const wall = Date.now() - t0;
  const cpuMs = ((cpuTicks(pid) - before.self) * 1000) / USER_HZ;
  const childrenCpuMs = kids.reduce((sum, k, i) => { try { return sum + ((cpuTicks(k) - before.kids[i]!) * 1000) / USER_HZ; } catch { return sum; } }, 0);
  const apps = (await daemon.status()).apps.length;
  return { registerMs, register: rounded(summarize(registerMs)), ticksPerSecond: perSecond, apps, seconds: Math.round(wall / 100) / 10, rssMiB: Math.round(rssKiB(pid) / 102.4) / 10, cpuMs, childrenCpuMs, cpuPercent: Math.round((cpuMs / wall) * 10000) / 100 };
}

/** Kills every app's processes; the daemon removes the emptied apps. */
async function emptyApps(daemon: DaemonHandle): Promise<void> {
  for (const app of (await daemon.status()).apps) writeFileSync(path.join(app.cgroup, 'cgroup.kill'), '1');
  await waitUntil(async () => (await daemon.status()).apps.length === 0, 30_000, 100);
}

async function daemonTrials(ctx: RunContext, daemon: DaemonHandle, batch: IpBatch, tun: Tun, spec: DaemonSpec): Promise<NonNullable<DaemonResult['reaction']>> {
  const client = await DaemonClient.connect(daemon.socket);
  let group: string;
  try {
    group = (await client.request<{ cgroup: string }>({ op: 'register', name: 'react', onDrop: 'freeze', command: ['sleep'] })).cgroup;
    await fillGroups([group], spec.procs);
  } finally {
    client.close();
  }
  const ksapp: number[] = [];
  const outside: number[] = [];
  let failed = 0;
  for (let t = 0; t < spec.trials; t++) {
    await sleep(10_500); // the daemon's stable period: a down sooner would double the next hold-down
    const since = Date.now();
    const seen = observe(group, (e) => e.frozen);
    const t0 = process.hrtime.bigint();
    batch.send(`link del ${tun.iface}`);
    const at = await seen;
    const down = await daemon.waitEvent('tunnel-down', since);
    if (at === null || down?.reactionMs === undefined) failed++;
    else { outside.push(msBetween(t0, at)); ksapp.push(down.reactionMs); }
    const back = Date.now();
    await tun.start();
    if (!(await daemon.waitEvent('tunnel-up', back, 30_000))) throw new Error('the daemon did not see the tunnel come back');
    ctx.say(`  daemon trial ${t + 1}/${spec.trials}: ${down?.reactionMs?.toFixed(2) ?? '?'} ms`);
  }
  return { procs: spec.procs, ksapp: rounded(summarize(ksapp)), outside: rounded(summarize(outside)), failedTrials: failed };
}
