// Scale: the firewall transaction with 1…1,000 protected apps (real cgroups, one `nft -f`
// each), and freezing all of them at once when the tunnel goes.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Cgroup } from '../cgroups/index.js';
import type { ApplySpec } from './apply-worker.js';
import { createBareNs } from './bare-ns.js';
import { onCleanup, removeGroupSync } from './cleanup.js';
import { runReaction, type ReactionResult, type RunContext } from './reaction.js';
import { rounded, summarize, type Summary } from './stats.js';

/** Ruleset figures for one number of apps. */
export interface ApplyFigure {
  readonly apps: number;
  /** applyPolicy: read, one `nft -f` transaction, read back and verify. */
  readonly apply: Summary | null;
  /** The `nft -f` transaction alone. */
  readonly nft: Summary | null;
  readonly rulesetBytes: number;
  /** Median UDP round trip on loopback of an unprotected process with this table loaded, µs. */
  readonly rttUs?: number;
}

/** What the scale section measures. */
export interface ScaleResult {
  readonly apply: readonly ApplyFigure[];
  readonly freezeAll: readonly ReactionResult[];
  /** The same round trip with no ksapp table at all, µs (the floor). */
  readonly bareRttUs?: number;
  readonly error?: string;
}

const APPLY_WORKER = fileURLToPath(new URL('./apply-worker.js', import.meta.url));

/** Times the ruleset apply for each size, then freeze-all for each size. */
export async function runScale(ctx: RunContext, sizes: readonly number[], repeats: number): Promise<ScaleResult> {
  let apply: ApplyFigure[] = [];
  let bareRttUs: number | undefined;
  const freezeAll: ReactionResult[] = [];
  try {
    ({ apply, bareRttUs } = await applyFigures(ctx, sizes, repeats));
    for (const n of sizes) {
      ctx.say(`  freeze all: ${n} app(s)`);
      freezeAll.push(await runReaction(ctx, { id: `all${n}`, policy: 'freeze', groups: n, perGroup: 1, trials: Math.max(3, repeats) }));
    }
    return { apply, freezeAll, ...(bareRttUs !== undefined ? { bareRttUs } : {}) };
  } catch (error) {
    return { apply, freezeAll, error: String(error) };
  }
}

async function applyFigures(ctx: RunContext, sizes: readonly number[], repeats: number): Promise<{ apply: ApplyFigure[]; bareRttUs?: number }> {
  const parentDir = path.join(ctx.cgroupRoot, `ksapp-b-${ctx.suffix}-apply`);
  const undoGroups = onCleanup(`cgroup ${parentDir}`, () => removeGroupSync(parentDir), () => removeGroupSync(parentDir));
  const ns = await createBareNs(ctx.suffix, 'apply');
  try {
    const most = Math.max(...sizes);
    for (let i = 1; i <= most; i++) await Cgroup.create(path.join(parentDir, `app${i}`));
    const spec: ApplySpec = { cgroupRoot: ctx.cgroupRoot, parentDir, sizes, repeats, iface: `tb${ctx.suffix}` };
    const argv = [...ns.enter, process.execPath, APPLY_WORKER, JSON.stringify(spec)];
    const r = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore' });
    const out = JSON.parse(String(r.stdout).trim().split('\n').pop() ?? '{}') as { sizes?: Array<{ apps: number; applyMs: number[]; nftMs: number[]; rulesetBytes: number; rttUs: number }>; bareRttUs?: number; error?: string };
    if (!out.sizes) throw new Error(`apply worker failed: ${out.error ?? String(r.stderr).slice(-500)}`);
    const apply = out.sizes.map((s) => ({ apps: s.apps, apply: rounded(summarize(s.applyMs)), nft: rounded(summarize(s.nftMs)), rulesetBytes: s.rulesetBytes, rttUs: s.rttUs }));
    return { apply, ...(out.bareRttUs !== undefined ? { bareRttUs: out.bareRttUs } : {}) };
  } finally {
    await undoGroups();
    await ns.destroy();
  }
}
