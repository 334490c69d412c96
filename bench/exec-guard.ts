// The cost of confining at exec (issue 12): the time to run a tiny program that the exec guard has
// marked, against an unmarked copy of the same program, in the same run; and that unmarked programs
// pay nothing (the same unmarked program with the guard armed and with no guard at all). The floor is
// the kernel's own cost of what the guard adds: one write of a pid into a cgroup.procs file.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cgroup } from '../cgroups/index.js';
import { ExecGuard } from '../src/adopt/exec-guard.js';
import { onCleanup, removeGroupSync } from './cleanup.js';
import type { RunContext } from './reaction.js';
import { rounded, summarize, type Summary } from './stats.js';

/** The exec figures, ms. */
export interface ExecGuardResult {
  readonly trials: number;
  /** The marked program: put into the staging group by the guard's thread, then allowed. */
  readonly marked: Summary | null;
  /** An unmarked copy of the same program, the guard armed. */
  readonly unmarked: Summary | null;
  /** The same unmarked program with no guard open at all. */
  readonly noGuard: Summary | null;
  /** One pid written into a cgroup.procs file (what the guard adds, done by hand). */
  readonly cgroupMove: Summary | null;
  /** Median added by the mark (marked − unmarked). */
  readonly addedMs: number | null;
  /** Median unmarked − no guard: what an unmarked program pays for the guard existing. */
  readonly unmarkedCostMs: number | null;
}

const timeExec = (file: string): number => {
  const t0 = process.hrtime.bigint();
  spawnSync(file, [], { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e6;
};

/** Runs the exec trials in groups this run creates and removes. */
export async function runExecGuard(ctx: RunContext, trials: number): Promise<ExecGuardResult> {
  const parentRel = `ksapp-bench-exec-${ctx.suffix}`;
  const parent = await Cgroup.create(path.join(ctx.cgroupRoot, parentRel));
  const staging = await Cgroup.create(path.join(parent.path, 'exec+staging'));
  const other = await Cgroup.create(path.join(parent.path, 'other'));
  const undoGroups = onCleanup('exec groups', async () => {
    for (const g of [staging, other]) await g.kill().catch(() => undefined);
    await parent.remove();
  }, () => removeGroupSync(parent.path));
  const dir = mkdtempSync(path.join(tmpdir(), 'ksapp-bench-exec-'));
  const undoDir = onCleanup('exec files', () => rmSync(dir, { recursive: true, force: true }), () => rmSync(dir, { recursive: true, force: true }));
  const marked = path.join(dir, 'marked-true');
  const plain = path.join(dir, 'plain-true');
  copyFileSync('/bin/true', marked);
  copyFileSync('/bin/true', plain);
  const noGuard: number[] = [];
  for (let i = 0; i < trials; i++) noGuard.push(timeExec(plain));
  const guard = ExecGuard.open(path.join(staging.path, 'cgroup.procs'), `/${parentRel}`);
  const m: number[] = [];
  const u: number[] = [];
  try {
    guard.mark(marked);
    // Interleaved, so drift on the machine touches both series alike.
    for (let i = 0; i < trials; i++) {
      m.push(timeExec(marked));
      u.push(timeExec(plain));
    }
  } finally {
    guard.close();
  }
  const moves = await timeMoves(staging, other, trials);
  await undoDir();
  await undoGroups();
  const [sm, su, sn] = [summarize(m), summarize(u), summarize(noGuard)];
  return {
    trials, marked: rounded(sm), unmarked: rounded(su), noGuard: rounded(sn), cgroupMove: rounded(summarize(moves)),
    addedMs: sm && su ? Math.round((sm.median - su.median) * 1000) / 1000 : null,
    unmarkedCostMs: su && sn ? Math.round((su.median - sn.median) * 1000) / 1000 : null,
  };
}

/** Times writing a sleeping process's pid into cgroup.procs, back and forth between two groups. */
async function timeMoves(a: Cgroup, b: Cgroup, trials: number): Promise<number[]> {
  const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  const pid = sleeper.pid!;
  const out: number[] = [];
  try {
    for (let i = 0; i < trials; i++) {
      const to = i % 2 === 0 ? a : b;
      const t0 = process.hrtime.bigint();
      await writeFile(path.join(to.path, 'cgroup.procs'), `${pid}\n`);
      out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    sleeper.kill('SIGKILL');
  }
  return out;
}
