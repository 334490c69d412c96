// Failover: a real `ksapp daemon` in a bare namespace watching two tun "tunnels". One app
// rides the first alone, another has the order (first, second). Deleting the first tun
// freezes the lone app (the plain reaction: the reference, in the same step) and freezes,
// moves and thaws the other on the second tunnel (the gap it sees); re-creating the tun
// moves it back (failback). Seen from outside on cgroup.events, beside ksapp's reactionMs.
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { frozenSpan, preciseNow, watchFreezes, type FreezeWatch } from '../src/demo/freeze-watch.js';
import { waitUntil } from '../src/demo/wait.js';
import { DaemonClient } from '../src/ipc/client.js';
import { withBareDaemon, type BareDaemon } from './bare-daemon.js';
import type { DaemonHandle } from './daemon-proc.js';
import { msBetween, observe } from './kernel.js';
import { fillGroups, type Filler } from './procs.js';
import type { RunContext } from './reaction.js';
import { round3, rounded, summarize, type Summary } from './stats.js';

/** What the failover section measures, ms. */
export interface FailoverResult {
  /** Processes in each app. */
  readonly procs: number;
  /** Fault written → the lone app frozen: the plain reaction, the reference. */
  readonly reaction: Summary | null;
  /** Fault written → the moving app thawed on the second tunnel: the gap it sees. */
  readonly gap: Summary | null;
  /** The moving app frozen → thawed on the second tunnel. */
  readonly frozen: Summary | null;
  /** ksapp's reactionMs of that tunnel-down: event seen → both apps acted on (the move included). */
  readonly ksapp: Summary | null;
  /** Failback: the first tun back → the moving app's freeze while it goes back (frozen → thawed). */
  readonly failbackFrozen: Summary | null;
  /** Median gap / median reaction. */
  readonly ratio: number | null;
  readonly failedTrials: number;
  readonly error?: string;
}

/** Runs `trials` failovers and failbacks with `procs` idle processes in each app. */
export async function runFailover(ctx: RunContext, trials: number, procs: number): Promise<FailoverResult> {
  const s: Series = { reaction: [], gap: [], frozen: [], ksapp: [], failbackFrozen: [], failed: 0 };
  const dir = await mkdtemp(`/tmp/ksb-${ctx.suffix}-`);
  try {
    return await withBareDaemon(ctx, 'failover', dir, `ta${ctx.suffix}`, async (b) => {
      const groups = await register(b.daemon, b, procs);
      try {
        for (let t = 0; t < trials; t++) {
          try {
            await oneTrial(b, groups, s);
            ctx.say(`  failover trial ${t + 1}/${trials}: gap ${s.gap.at(-1)?.toFixed(2) ?? '?'} ms`);
          } catch (error) {
            s.failed++;
            ctx.say(`  failover trial ${t + 1}/${trials} failed: ${String(error)}`);
            if (!(await b.tun.isUp())) await b.tun.start();
            await settled(b, 20_000);
          }
        }
      } finally {
        // The daemon removes emptied apps; the filler, their parent, ends once they are gone.
        for (const group of [groups.lone, groups.move]) {
          try { writeFileSync(path.join(group, 'cgroup.kill'), '1'); } catch { /* already gone */ }
        }
        await groups.filler.done;
      }
      return figures(procs, s);
    }, { second: `tb${ctx.suffix}`, tunnelLines: ['holdDown: 1ms', 'maxHoldDown: 64ms'] });
  } catch (error) {
    return { ...figures(procs, s), error: String(error) };
  }
}

interface Series { reaction: number[]; gap: number[]; frozen: number[]; ksapp: number[]; failbackFrozen: number[]; failed: number }
interface Groups { lone: string; move: string; filler: Filler }

function figures(procs: number, s: Series): FailoverResult {
  const gap = rounded(summarize(s.gap));
  const reaction = rounded(summarize(s.reaction));
  const ratio = gap && reaction && reaction.median > 0 ? round3(gap.median / reaction.median) : null;
  return {
    procs, reaction, gap, frozen: rounded(summarize(s.frozen)), ksapp: rounded(summarize(s.ksapp)), failbackFrozen: rounded(summarize(s.failbackFrozen)),
    ratio, failedTrials: s.failed,
  };
}

/** Registers both apps over the socket (one connection each, open until they hold processes, as `ksapp run` does), fills them, and waits until both tunnels are up. */
async function register(daemon: DaemonHandle, b: BareDaemon, procs: number): Promise<Groups> {
  const clients = [await DaemonClient.connect(daemon.socket), await DaemonClient.connect(daemon.socket)] as const;
  let filler: Filler;
  let lone: string;
  let move: string;
  try {
    lone = (await clients[0].request<{ cgroup: string }>({ op: 'register', name: 'lone', onDrop: 'freeze', command: ['sleep'] })).cgroup;
    move = (await clients[1].request<{ cgroup: string }>({ op: 'register', name: 'move', onDrop: 'freeze', command: ['sleep'], tunnels: [b.tun.iface, b.tun2!.iface] })).cgroup;
    filler = await fillGroups([lone, move], procs);
  } finally {
    for (const c of clients) c.close();
  }
  if (!(await settled(b, 20_000))) throw new Error(`the daemon did not settle with both tunnels up: ${JSON.stringify((await daemon.status()).tunnels)}`);
  return { lone, move, filler };
}

/** Both tunnels up, both apps running, `move` on the first tunnel. */
async function settled(b: BareDaemon, timeoutMs: number): Promise<boolean> {
  return waitUntil(async () => {
    const st = await b.daemon.status();
    const app = (name: string) => st.apps.find((a) => a.name === name);
    return st.tunnels?.every((t) => t.state === 'up') === true && app('lone')?.state === 'running' && app('move')?.state === 'running' && app('move')?.tunnel === b.tun.iface;
  }, timeoutMs, 10);
}

async function oneTrial(b: BareDaemon, g: Groups, s: Series): Promise<void> {
  const since = Date.now();
  const lone = observe(g.lone, (e) => e.frozen, 10_000);
  let watch: FreezeWatch = watchFreezes(g.move);
  try {
    const t0 = process.hrtime.bigint();
    const p0 = preciseNow();
    b.batch.send(`link del ${b.tun.iface}`);
    const frozeAt = await lone;
    if (!(await waitUntil(() => frozenSpan(watch.changes, p0) !== null, 10_000, 2))) throw new Error(`move was not seen frozen and thawed: ${JSON.stringify(watch.changes)}`);
    const span = frozenSpan(watch.changes, p0)!;
    const down = await b.daemon.waitEvent('tunnel-down', since);
    const moved = (await b.daemon.status()).apps.find((a) => a.name === 'move');
    if (frozeAt === null || moved?.tunnel !== b.tun2!.iface || moved.state !== 'running') throw new Error(`not moved: ${JSON.stringify(moved)}`);
    s.reaction.push(msBetween(t0, frozeAt));
    s.gap.push(span.thawedAt - p0);
    s.frozen.push(span.thawedAt - span.frozeAt);
    if (down?.reactionMs !== undefined) s.ksapp.push(down.reactionMs);
    // Failback: the notices of the move are 20 ms behind us, so the watch sees the next freeze as it happens.
    watch.close();
    await sleep(50);
    watch = watchFreezes(g.move);
    const p1 = preciseNow();
    const backSince = Date.now();
    await b.tun.start();
    // The daemon logs tunnel-up once the step's actions are done (the move back thawed); its status shows the new world before.
    if (!(await b.daemon.waitEvent('tunnel-up', backSince, 10_000)) || !(await settled(b, 10_000))) throw new Error('no failback to the first tunnel');
    await waitUntil(() => frozenSpan(watch.changes, p1) !== null, 1_000, 2);
    const back = frozenSpan(watch.changes, p1);
    if (back) s.failbackFrozen.push(back.thawedAt - back.frozeAt);
  } finally {
    watch.close();
  }
  await sleep(50);
}
