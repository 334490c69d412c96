/**
 * One status shared by everyone who asks at about the same time. A status
 * costs an `nft` run (counters) and a read of every app's cgroup; answering a
 * flood of `status` requests with one build each once ran hundreds of `nft`
 * at once and starved the kill switch. Here concurrent callers share the
 * build in flight, and a finished build is reused for a short while, unless
 * the state it was built from has changed since (a new event): a status
 * asked for after a `freeze` has answered always shows the freeze.
 */

/** How long a finished status is reused, ms: counters and pids may be this old; states never are (see `version`). */
export const STATUS_MAX_AGE_MS = 250;

/** A single-flight, short-lived cache of one value, keyed by the version of what it was built from. */
export class StatusCache<T> {
  private current: { version: unknown; at: number; value: Promise<T> } | undefined;

  constructor(private readonly build: () => Promise<T>, private readonly maxAgeMs = STATUS_MAX_AGE_MS, private readonly now: () => number = Date.now) {}

  /**
   * The value built for `version`: the build in flight or one finished less
   * than maxAgeMs ago; otherwise a new build. A failed build is not kept.
   */
  get(version: unknown): Promise<T> {
    const c = this.current;
    if (c && c.version === version && (c.at === -1 || this.now() - c.at < this.maxAgeMs)) return c.value;
    const entry: { version: unknown; at: number; value: Promise<T> } = { version, at: -1, value: this.build() };
    this.current = entry;
    entry.value.then(() => { entry.at = this.now(); }, () => { if (this.current === entry) this.current = undefined; });
    return entry.value;
  }
}
