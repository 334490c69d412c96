// The kill switch under a denial-of-service attempt (issue 15): the real daemon, with its
// shipped limits, in a bare namespace with a tun tunnel; one non-root user (nobody) floods
// its socket with `status` requests and with connections. Measured in the same run, trials
// alternating: tunnel deleted → protected app frozen, without and with the flood, and root's
// `ksapp status` during the flood.
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '../src/demo/wait.js';
import { DaemonClient } from '../src/ipc/client.js';
import { rootSocketOf } from '../src/ipc/server.js';
import { IpBatch, Tun } from './bare-ns.js';
import { withBareDaemon } from './bare-daemon.js';
import { startLoads, stopLoads, tally } from './flood-load.js';
import type { DaemonHandle } from './daemon-proc.js';
import { msBetween, observe } from './kernel.js';
import { childrenRunning, cpuTicks, USER_HZ } from './proc-stat.js';
import { fillGroups } from './procs.js';
import type { RunContext } from './reaction.js';
import { rounded, summarize, type Summary } from './stats.js';

/** What the flood section measures (ms unless named otherwise). */
export interface FloodResult {
  readonly procs: number;
  /** Tunnel deleted → the app's group frozen, seen from outside (inotify on cgroup.events). */
  readonly idle: Summary | null;
  readonly flood: Summary | null;
  /** Median under flood / median idle. */
  readonly ratio: number | null;
  /** The daemon's own reactionMs (event seen → group frozen), idle and under flood. */
  readonly idleKsapp: Summary | null;
  readonly floodKsapp: Summary | null;
  /** Root's `ksapp status --json` (a new CLI process each time), idle and during the flood; answered = every one exited 0. */
  readonly rootStatus: { idle: Summary | null; flood: Summary | null; answered: boolean };
  /** Root's `status` over a connection just opened to the shared socket (the daemon's share of the above), and to root's own socket, during the flood. */
  readonly rootRoundTrip: { idle: Summary | null; flood: Summary | null; floodRootSocket: Summary | null };
  /** The daemon's CPU use while flooded, % of one CPU. */
  readonly daemonCpuPercent: number | null;
  /** What the attacker got: requests answered, connections accepted and refused; the most `nft` the daemon ran at once meanwhile. */
  readonly attacker: { requestsAnswered: number; connectionsAccepted: number; connectionsRefused: number; peakNft: number };
  readonly failedTrials: number;
  readonly error?: string;
}


/** Runs the section: `trials` pairs of (idle, flooded) reaction trials on one app of `procs` processes. */
export async function runFlood(ctx: RunContext, spec: { trials: number; procs: number }): Promise<FloodResult> {
  // Below /run: nobody may reach the socket, nobody but root may write there.
  const dir = `/run/ksb-${ctx.suffix}-flood`;
  await mkdir(dir, { mode: 0o755 });
  const m = { idle: [] as number[], flood: [] as number[], idleKsapp: [] as number[], floodKsapp: [] as number[], statusIdle: [] as number[], statusFlood: [] as number[], rttIdle: [] as number[], rttFlood: [] as number[], rttRoot: [] as number[] };
  const cpu = { ticks: 0, ms: 0 };
  const attacker = { requestsAnswered: 0, connectionsAccepted: 0, connectionsRefused: 0, peakNft: 0 };
  let answered = true;
  let failed = 0;
  const result = (error?: string): FloodResult => {
    const idle = rounded(summarize(m.idle));
    const flood = rounded(summarize(m.flood));
    return {
      procs: spec.procs, idle, flood, ratio: idle && flood ? Math.round((flood.median / idle.median) * 100) / 100 : null,
      idleKsapp: rounded(summarize(m.idleKsapp)), floodKsapp: rounded(summarize(m.floodKsapp)),
      rootStatus: { idle: rounded(summarize(m.statusIdle)), flood: rounded(summarize(m.statusFlood)), answered },
      rootRoundTrip: { idle: rounded(summarize(m.rttIdle)), flood: rounded(summarize(m.rttFlood)), floodRootSocket: rounded(summarize(m.rttRoot)) },
      daemonCpuPercent: cpu.ms > 0 ? Math.round(((cpu.ticks * 1000) / USER_HZ / cpu.ms) * 1000) / 10 : null, attacker, failedTrials: failed, ...(error ? { error } : {}),
    };
  };
  try {
    return await withBareDaemon(ctx, 'flood', dir, `tf${ctx.suffix}`, async ({ daemon, batch, tun, enter }) => {
      const group = await victim(daemon, spec.procs);
      for (let t = 0; t < spec.trials; t++) {
        for (const flooded of [false, true]) {
          const loads = flooded ? await startLoads(enter, daemon.socket) : [];
          const sampler = setInterval(() => { attacker.peakNft = Math.max(attacker.peakNft, childrenRunning(daemon.pid, 'nft')); }, 5);
          const [ticks0, t0] = [cpuTicks(daemon.pid), Date.now()];
          try {
            await sleep(10_500); // the daemon's stable period: a down sooner would double the next hold-down
            if (flooded) Object.assign(cpu, { ticks: cpu.ticks + cpuTicks(daemon.pid) - ticks0, ms: cpu.ms + Date.now() - t0 });
            for (let i = 0; i < 3; i++) {
              const s = await timedStatus(daemon);
              answered &&= s.ok;
              (flooded ? m.statusFlood : m.statusIdle).push(s.ms);
              (flooded ? m.rttFlood : m.rttIdle).push(await roundTrip(daemon.socket));
              if (flooded) m.rttRoot.push(await roundTrip(rootSocketOf(daemon.socket)));
            }
            const r = await trial(daemon, batch, tun, group);
            if (!r) failed++;
            else { (flooded ? m.flood : m.idle).push(r.outside); (flooded ? m.floodKsapp : m.idleKsapp).push(r.ksapp); }
            ctx.say(`  trial ${t + 1}/${spec.trials} ${flooded ? 'under flood' : 'idle'}: ${r ? `${r.outside.toFixed(1)} ms (daemon ${r.ksapp.toFixed(1)} ms)` : 'failed'}`);
          } finally {
            clearInterval(sampler);
            if (flooded) Object.assign(attacker, tally(attacker, await stopLoads(loads)));
          }
        }
      }
      return result();
    });
  } catch (error) {
    return result(String(error));
  }
}

/** Registers the protected app as `ksapp run` does and fills it with sleeping processes; returns its group. */
async function victim(daemon: DaemonHandle, procs: number): Promise<string> {
  const client = await DaemonClient.connect(daemon.socket);
  try {
    const { cgroup } = await client.request<{ cgroup: string }>({ op: 'register', name: 'victim', onDrop: 'freeze', command: ['sleep'] });
    await fillGroups([cgroup], procs);
    return cgroup;
  } finally {
    client.close();
  }
}

/** One tunnel loss: the time until the group is frozen, from outside and as the daemon logged it; then the tunnel back. */
async function trial(daemon: DaemonHandle, batch: IpBatch, tun: Tun, group: string): Promise<{ outside: number; ksapp: number } | undefined> {
  const since = Date.now();
  const seen = observe(group, (e) => e.frozen, 180_000);
  const t0 = process.hrtime.bigint();
  batch.send(`link del ${tun.iface}`);
  const at = await seen;
  const down = await daemon.waitEvent('tunnel-down', since, 180_000);
  const back = Date.now();
  await tun.start();
  if (!(await daemon.waitEvent('tunnel-up', back, 180_000))) throw new Error('the daemon did not see the tunnel come back');
  await waitUntil(async () => (await daemon.status()).apps.every((a) => a.state === 'running'), 60_000, 50);
  return at === null || down?.reactionMs === undefined ? undefined : { outside: msBetween(t0, at), ksapp: down.reactionMs };
}

/** Root's `ksapp status --json` as a user runs it; its wall time in ms. */
async function timedStatus(daemon: DaemonHandle): Promise<{ ok: boolean; ms: number }> {
  const t0 = process.hrtime.bigint();
  const res = await daemon.cli(['status', '--json'], { timeout: 120_000 });
  return { ok: res.exitCode === 0, ms: Math.round(msBetween(t0, process.hrtime.bigint()) * 10) / 10 };
}

/** One `status` over a connection opened just before (a connection waits in the kernel's queue until the daemon takes it), ms. */
async function roundTrip(socket: string): Promise<number> {
  const client = await DaemonClient.connect(socket);
  try {
    const t0 = process.hrtime.bigint();
    await client.request({ op: 'status' });
    return Math.round(msBetween(t0, process.hrtime.bigint()) * 100) / 100;
  } finally {
    client.close();
  }
}
