// Start-up: `ksapp run -- true` against `true` run directly (both through nsenter into the
// lab's client namespace), with the daemon already running; `node -e 0` shows how much
// of the difference is Node's own start.
import { execa } from 'execa';
import type { LabSession } from './lab-session.js';
import { rounded, summarize, median, type Summary } from './stats.js';

/** Start-up figures, ms. */
export interface StartupResult {
  readonly ksappRun: Summary | null;
  readonly direct: Summary | null;
  readonly nodeBare: Summary | null;
  /** median(ksapp run -- true) − median(true). */
  readonly addedMs: number;
  readonly failed: number;
}

async function wall(run: () => Promise<{ exitCode?: number }>): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await run();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return r.exitCode === 0 ? ms : NaN;
}

/** Alternates the three commands `trials` times. */
export async function runStartup(s: LabSession, trials: number): Promise<StartupResult> {
  const enter = s.lab.nsenterArgs('client');
  const direct = (argv: string[]) => () => execa(enter[0]!, [...enter.slice(1), ...argv], { reject: false, stdin: 'ignore' });
  const k: number[] = [];
  const d: number[] = [];
  const n: number[] = [];
  for (let i = 0; i < trials; i++) {
    k.push(await wall(() => s.daemon.cli(['run', '--as-root', '--', 'true'])));
    d.push(await wall(direct(['true'])));
    n.push(await wall(direct([process.execPath, '-e', '0'])));
  }
  const failed = k.filter(Number.isNaN).length;
  return {
    ksappRun: rounded(summarize(k)), direct: rounded(summarize(d)), nodeBare: rounded(summarize(n)),
    addedMs: Math.round((median(k) - median(d)) * 10) / 10, failed,
  };
}
