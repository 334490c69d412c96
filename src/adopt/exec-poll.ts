// Finding new processes by scanning /proc, where kernel exec events cannot be had: one scan of
// /proc per interval for every rule together (a hub), and one readlink per new process and scan
// however many rules look at it.
import { EventEmitter } from 'node:events';
import { inspect, USER_HZ, warn, type WatchSettings } from './exec-inspect.js';
import type { ExecEvent, ExecWatcher } from './exec-watch.js';
import type { MatchRule } from './match.js';
import { listPids, readStat } from './proc.js';

interface Seen { firstSeen: number; done: boolean }

/** One scan's facts, shared by every rule that looks at it. */
interface Scan {
  readonly now: number;
  readonly present: ReadonlySet<number>;
  readonly exes: Map<number, Promise<string | undefined>>;
}

/** One timer and one listing of /proc per interval for every polling watcher of the same /proc. */
class ScanHub {
  private readonly watchers = new Set<PollingExecWatcher>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly procRoot: string, private readonly intervalMs: number, private readonly onEmpty: () => void) {}

  /** Adds a watcher; the first one starts the timer. */
  add(watcher: PollingExecWatcher): void {
    this.watchers.add(watcher);
    if (this.watchers.size === 1) this.schedule();
  }

  /** Removes a watcher; with the last one the timer stops and the hub goes. */
  remove(watcher: PollingExecWatcher): void {
    this.watchers.delete(watcher);
    if (this.watchers.size > 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.onEmpty();
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.tick().finally(() => { if (this.watchers.size > 0) this.schedule(); }), this.intervalMs);
  }

  private async tick(): Promise<void> {
    let scan: Scan;
    try {
      scan = { now: Date.now(), present: new Set(await listPids(this.procRoot)), exes: new Map() };
    } catch (error) {
      for (const w of this.watchers) warn(w, error as Error);
      return;
    }
    for (const w of [...this.watchers]) await w.look(scan).catch((error: unknown) => warn(w, error as Error));
  }
}

const hubs = new Map<string, ScanHub>();

function hubFor(procRoot: string, intervalMs: number): ScanHub {
  const key = `${intervalMs}:${procRoot}`;
  let hub = hubs.get(key);
  if (!hub) hubs.set(key, (hub = new ScanHub(procRoot, intervalMs, () => hubs.delete(key))));
  return hub;
}

/**
 * Reports new processes matching one rule from the shared scans. A process
 * found by a fork is rechecked for recheckMs, because a launcher forks first
 * and execs the app a moment later.
 */
export class PollingExecWatcher extends EventEmitter<{ exec: [ExecEvent]; error: [Error] }> implements ExecWatcher {
  private readonly known = new Map<number, Seen>();
  private closed = false;

  readonly source = 'poll';

  /** `sinceMs` (ms since boot): processes started from then on count as new in the first scan too. */
  constructor(private readonly rule: MatchRule, private readonly options: WatchSettings, private readonly sinceMs = Infinity) {
    super();
  }

  /** Records what already runs (those processes are found by find.ts, not reported here), then joins the scans. */
  async start(): Promise<void> {
    const now = Date.now();
    for (const pid of await listPids(this.options.procRoot)) {
      const started = this.sinceMs === Infinity ? 0 : ((await readStat(pid, this.options.procRoot))?.startTicks ?? 0) * 1000 / USER_HZ;
      if (started < this.sinceMs) this.known.set(pid, { firstSeen: now, done: true });
    }
    if (!this.closed) hubFor(this.options.procRoot, this.options.intervalMs).add(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    hubs.get(`${this.options.intervalMs}:${this.options.procRoot}`)?.remove(this);
  }

  /** Takes one scan: forgets processes that are gone, looks at new ones (and ones still in their recheck time). */
  async look(scan: Scan): Promise<void> {
    for (const pid of this.known.keys()) if (!scan.present.has(pid)) this.known.delete(pid);
    for (const pid of scan.present) {
      let seen = this.known.get(pid);
      if (seen === undefined) this.known.set(pid, (seen = { firstSeen: scan.now, done: false }));
      if (seen.done || this.closed) continue;
      if (scan.now - seen.firstSeen > this.options.recheckMs) seen.done = true;
      const event = await inspect(pid, this.rule, this.options, scan.exes);
      if (event !== undefined) {
        seen.done = true;
        this.emit('exec', event);
      }
    }
  }
}
