// Pure statistics for the benchmark's samples: nearest-rank percentiles, so a
// reported p99 is always a figure that was really measured.

/** The usual summary of one series of samples (milliseconds unless said otherwise). */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly mean: number;
  readonly p99: number;
  readonly max: number;
}

/** The samples sorted ascending, NaN dropped (pure; the input is not touched). */
export function sorted(xs: readonly number[]): number[] {
  return xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
}

/** Nearest-rank percentile (0 < p ≤ 100); NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1]!;
}

/** Median: the middle sample, or the mean of the two middle ones; NaN for no samples. */
export function median(xs: readonly number[]): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** 99th percentile (nearest rank). */
export function p99(xs: readonly number[]): number {
  return percentile(xs, 99);
}

/** Arithmetic mean; NaN for no samples. */
export function mean(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.length === 0 ? NaN : s.reduce((a, b) => a + b, 0) / s.length;
}

/** Summarises a series; null when there is no sample at all. */
export function summarize(xs: readonly number[]): Summary | null {
  const s = sorted(xs);
  if (s.length === 0) return null;
  return { n: s.length, min: s[0]!, median: median(s), mean: mean(s), p99: p99(s), max: s[s.length - 1]! };
}

/** Rounds for JSON output: 3 decimals, so sub-millisecond figures keep their microseconds. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A summary with every figure rounded to 3 decimals (null stays null). */
export function rounded(s: Summary | null): Summary | null {
  if (!s) return null;
  return { n: s.n, min: round3(s.min), median: round3(s.median), mean: round3(s.mean), p99: round3(s.p99), max: round3(s.max) };
}
