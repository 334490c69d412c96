// Reaction trials: the tun "tunnel" deleted → the protected group(s) frozen or killed,
// timed three ways in the same run: ksapp's own reactionMs (event seen → every group
// acted on, from the supervisor's event), the same observed from outside (fault written
// → cgroup.events changed), and the kernel's floor (cgroup.freeze / cgroup.kill written
// directly → cgroup.events changed).
import path from 'node:path';
import { Cgroup } from '../cgroups/index.js';
import { IpBatch, Tun, createBareNs } from './bare-ns.js';
import { onCleanup, removeGroupSync } from './cleanup.js';
import { floorFreeze, floorKill, msBetween, observe } from './kernel.js';
import { fillGroups, type Filler } from './procs.js';
import { rounded, summarize, type Summary } from './stats.js';
import { Worker } from './worker.js';

/** One configuration of reaction trials. */
export interface ReactionSpec {
  readonly id: string;
  readonly policy: 'freeze' | 'kill';
  /** Protected apps (groups), and processes in each. */
  readonly groups: number;
  readonly perGroup: number;
  readonly trials: number;
}

/** The figures of one configuration, ms. */
export interface ReactionResult {
  readonly id: string;
  readonly policy: 'freeze' | 'kill';
  readonly groups: number;
  readonly perGroup: number;
  /** ksapp's own reactionMs (monitor saw the netlink event → every group frozen/killed). */
  readonly ksapp: Summary | null;
  /** Fault written to `ip -batch` → cgroup.events changed (one group) or the supervisor's event received (many). */
  readonly outside: Summary | null;
  /** cgroup.freeze/cgroup.kill written directly → cgroup.events changed. */
  readonly kernel: Summary | null;
  readonly failedTrials: number;
  readonly error?: string;
}

/** Where the run's cgroups and names come from. */
export interface RunContext {
  readonly suffix: string;
  readonly cgroupRoot: string;
  readonly say: (line: string) => void;
}

/** Runs one configuration in a namespace of its own and returns its figures. */
export async function runReaction(ctx: RunContext, spec: ReactionSpec): Promise<ReactionResult> {
  const ksapp: number[] = [];
  const outside: number[] = [];
  const kernel: number[] = [];
  let failed = 0;
  const rel = `ksapp-b-${ctx.suffix}-${spec.id}`;
  const parentDir = path.join(ctx.cgroupRoot, rel);
  // The kill floor empties a group, and the supervisor removes an emptied app: it gets a sibling group of its own.
  const floorDir = `${parentDir}-floor`;
  const undoGroups = onCleanup(`cgroups ${parentDir}`, () => { removeGroupSync(parentDir); removeGroupSync(floorDir); },
    () => { removeGroupSync(parentDir); removeGroupSync(floorDir); });
  const ns = await createBareNs(ctx.suffix, spec.id);
  const tun = new Tun(ns, `tb${ctx.suffix}`);
  const batch = new IpBatch(ns.name);
  let worker: Worker | undefined;
  let filler: Filler | undefined;
  let floorFiller: Filler | undefined;
  try {
    const names = Array.from({ length: spec.groups }, (_, i) => `app${i + 1}`);
    const dirs = names.map((n) => path.join(parentDir, n));
    for (const d of dirs) await Cgroup.create(d);
    if (spec.policy === 'kill') await Cgroup.create(floorDir);
    const refill = async (): Promise<void> => {
      await filler?.done;
      filler = await fillGroups(dirs, spec.perGroup);
    };
    await refill();
    await tun.start();
    worker = new Worker(ns.enter, {
      iface: tun.iface, cgroupRoot: ctx.cgroupRoot, parent: rel, holdMs: 0, stableMs: 0,
      apps: names.map((name) => ({ name, onDrop: spec.policy, restart: spec.policy === 'kill' })),
    });
    await worker.event('tunnel-up', 0, 60_000);
    for (let t = 0; t < spec.trials; t++) {
      if (spec.policy === 'freeze') kernel.push(floorFreeze(dirs));
      else {
        await floorFiller?.done;
        floorFiller = await fillGroups([floorDir], spec.perGroup);
        kernel.push(floorKill(floorDir));
      }
      try {
        const r = await oneTrial(worker, batch, tun, dirs, spec.policy);
        ksapp.push(r.ksapp);
        outside.push(r.outside);
        if (spec.policy === 'kill') await refill();
      } catch (error) {
        failed++;
        ctx.say(`  trial ${t + 1} failed: ${String(error)}`);
        if (failed > 5) throw error;
        if (!(await tun.isUp())) await tun.start();
      }
      if ((t + 1) % 50 === 0) ctx.say(`  ${spec.id}: ${t + 1}/${spec.trials}`);
    }
    return { id: spec.id, policy: spec.policy, groups: spec.groups, perGroup: spec.perGroup, ...figures(ksapp, outside, kernel), failedTrials: failed };
  } catch (error) {
    return { id: spec.id, policy: spec.policy, groups: spec.groups, perGroup: spec.perGroup, ...figures(ksapp, outside, kernel), failedTrials: failed, error: String(error) };
  } finally {
    await worker?.stop();
    tun.stopSync();
    await batch.close();
    await undoGroups();
    await Promise.all([filler?.done, floorFiller?.done]);
    await ns.destroy();
  }
}

function figures(ksapp: number[], outside: number[], kernel: number[]): Pick<ReactionResult, 'ksapp' | 'outside' | 'kernel'> {
  return { ksapp: rounded(summarize(ksapp)), outside: rounded(summarize(outside)), kernel: rounded(summarize(kernel)) };
}

/** Deletes the tun, times the reaction, re-creates it and waits until ksapp has undone its policy. */
async function oneTrial(worker: Worker, batch: IpBatch, tun: Tun, dirs: readonly string[], policy: 'freeze' | 'kill'): Promise<{ ksapp: number; outside: number }> {
  const mark = worker.mark;
  const seen = dirs.length === 1 ? observe(dirs[0]!, policy === 'freeze' ? (e) => e.frozen : (e) => !e.populated) : Promise.resolve(null);
  const t0 = process.hrtime.bigint();
  batch.send(`link del ${tun.iface}`);
  const down = await worker.event('tunnel-down', mark);
  const at = (await seen) ?? (dirs.length > 1 ? down.arrived : null);
  if (at === null) throw new Error('the group never reached the expected state');
  const back = worker.mark;
  await tun.start();
  await worker.event('tunnel-up', back);
  return { ksapp: down.reactionMs ?? NaN, outside: msBetween(t0, at) };
}
