// The goals of issues #4 and #9, judged against the measured figures (pure). A missed
// goal is printed and marked, never turned into a failure: benchmarks are not tests.
import type { BenchResults } from './results.js';

/** One goal and how the run did against it. */
export interface GoalCheck {
  readonly goal: string;
  readonly measured: string;
  /** null when the figure was not measured in this run. */
  readonly met: boolean | null;
}

const fmt = (v: number, unit: string): string => `${Math.round(v * 100) / 100} ${unit}`;

/** Every goal with its verdict. */
export function checkGoals(r: BenchResults): GoalCheck[] {
  const out: GoalCheck[] = [];
  const add = (goal: string, value: number | undefined | null, unit: string, ok: (v: number) => boolean): void => {
    const known = value !== undefined && value !== null && !Number.isNaN(value);
    out.push({ goal, measured: known ? fmt(value, unit) : 'not measured', met: known ? ok(value) : null });
  };
  const f100 = r.reaction?.configs.find((c) => c.policy === 'freeze' && c.groups === 1 && c.perGroup === 100);
  add('reaction (freeze, 100 processes): median ≤ 5 ms', f100?.ksapp?.median, 'ms', (v) => v <= 5);
  add('reaction (freeze, 100 processes): p99 ≤ 20 ms', f100?.ksapp?.p99, 'ms', (v) => v <= 20);
  add('silent server death detected ≤ 2 s (worst trial)', r.silent?.detected?.max, 'ms', (v) => v <= 2000);
  add('leaked packets under stress = 0', r.stress?.faults ? r.stress.leaked : undefined, 'packets', (v) => v === 0);
  add('throughput under ksapp / unconfined ≥ 0.97', r.overhead?.throughput?.ratio, '', (v) => v >= 0.97);
  add('idle daemon with 100 apps: RSS < 80 MB', r.daemon?.idle?.rssMiB, 'MiB', (v) => v < 80);
  // /proc counts CPU in 10 ms ticks: "no measurable CPU" is at most one tick in the sampling window.
  add('idle daemon: no measurable CPU (≤ 1 tick of 10 ms)', r.daemon?.idle?.cpuMs, 'ms', (v) => v <= 10);
  add('`ksapp run -- true` adds < 150 ms over `true`', r.startup?.addedMs, 'ms', (v) => v < 150);
  return out;
}
