// Notices new processes that match an app rule, so the daemon can adopt them.
//
// First choice: the kernel's process-events connector (NETLINK_CONNECTOR, PROC_EVENT_EXEC), read by
// a small native addon, reports each exec the moment it happens. It exists only in the initial
// network namespace and needs CAP_NET_ADMIN; where it cannot be opened, or fails later, the watcher
// polls /proc every intervalMs instead (exec-poll.ts: one scan for all rules) and looks closer only
// at pids not seen before. A process
// found by a fork is rechecked for recheckMs, because a launcher forks first and execs the app a
// moment later; a process that execs the app later than that is missed by polling (not by the
// connector). Until detection plus adoption, the new process runs unconfined: `ksapp run` and
// `ksapp install-launcher` have no such window.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { inspect, uptimeMs, USER_HZ, warn, type WatchSettings } from './exec-inspect.js';
import { PollingExecWatcher } from './exec-poll.js';
import { resolveRule } from './find.js';
import type { MatchRule, ProcInfo } from './match.js';
import { loadAddon } from '../native/load.js';
import { listPids, readStat } from './proc.js';

/** A new process that matches the rule. */
export interface ExecEvent {
  proc: ProcInfo;
  /** When the watcher saw it (Date.now()). */
  detectedAt: number;
  /** Milliseconds from the process's start (fork, 10 ms resolution) to its detection. */
  ageMs: number;
}

/** Something that reports new processes matching a rule. */
export interface ExecWatcher {
  /** How it learns of new processes now: exec events from the kernel, or scans of /proc. */
  readonly source: 'connector' | 'poll';
  /** A new matching process was seen (once per process). */
  on(event: 'exec', listener: (event: ExecEvent) => void): this;
  /** A scan failed; watching goes on. Without a listener the error is dropped, never thrown. */
  on(event: 'error', listener: (error: Error) => void): this;
  /** Stops watching. */
  close(): void;
}

/** Options of watchExecs. */
export interface PollOptions {
  /** Time between scans of /proc (default 250 ms). */
  intervalMs?: number;
  /** How long a newly seen, non-matching process is rechecked for a late exec (default 1000 ms). */
  recheckMs?: number;
  /** The daemon's pid, never reported (default: this process). */
  self?: number;
  procRoot?: string;
  passwdFile?: string;
  /** 'poll' skips the connector (tests; a procRoot other than /proc always polls). */
  source?: 'auto' | 'poll';
}

type ProcEventsAddon = { open(onEvent: (kind: number, value: number) => void): unknown; close(handle: unknown): void };
const KERNEL_EXEC = 0;
const KERNEL_OVERRUN = 1;
/** Processes started this long before the last event handled are looked at again after lost events. */
const RESCAN_MARGIN_MS = 1000;

/**
 * One process-events subscription for every watcher of this process: each
 * exec on the machine is read from the kernel once, not once per config
 * rule. The socket opens with the first watcher and closes with the last; a
 * failed socket is dropped after every watcher has heard of it, so the next
 * watcher opens a fresh one.
 */
class ConnectorHub {
  private handle: unknown;
  private readonly listeners = new Set<(kind: number, value: number) => void>();

  constructor(private readonly addon: ProcEventsAddon) {}

  /** Adds a listener, opening the socket for the first one (throws the addon's error); returns the unsubscribe. */
  subscribe(listener: (kind: number, value: number) => void): () => void {
    if (this.handle === undefined) {
      this.handle = this.addon.open((kind, value) => {
        for (const l of [...this.listeners]) l(kind, value);
        if (kind !== KERNEL_EXEC && kind !== KERNEL_OVERRUN) this.drop();
      });
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.drop();
    };
  }

  private drop(): void {
    if (this.handle !== undefined) this.addon.close(this.handle);
    this.handle = undefined;
    this.listeners.clear();
  }
}

const hubs = new WeakMap<ProcEventsAddon, ConnectorHub>();
const hubFor = (addon: ProcEventsAddon): ConnectorHub => {
  let hub = hubs.get(addon);
  if (!hub) hubs.set(addon, (hub = new ConnectorHub(addon)));
  return hub;
};

class ConnectorExecWatcher extends EventEmitter<{ exec: [ExecEvent]; error: [Error] }> implements ExecWatcher {
  private unsubscribe: (() => void) | undefined;
  private fallback: PollingExecWatcher | undefined;
  private readonly reported = new Map<number, number>();
  private bootOffsetMs = 0;
  private closed = false;

  constructor(private readonly addon: ProcEventsAddon, private readonly rule: MatchRule, private readonly options: WatchSettings) {
    super();
  }

  get source(): 'connector' | 'poll' {
    return this.fallback ? 'poll' : 'connector';
  }

  /** Subscribes to exec events; throws the addon's error (code: the errno's name) when the kernel refuses. */
  async open(): Promise<void> {
    this.bootOffsetMs = (await uptimeMs(this.options.procRoot)) - performance.now();
    this.unsubscribe = hubFor(this.addon).subscribe((kind, value) => {
      if (this.closed) return;
      if (kind === KERNEL_EXEC) void this.check(value);
      else if (kind === KERNEL_OVERRUN) void this.sweep(this.sinceBootMs() - RESCAN_MARGIN_MS);
      else void this.failOver(value);
    });
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.fallback?.close();
  }

  private sinceBootMs(): number {
    return performance.now() + this.bootOffsetMs;
  }

  private async check(pid: number): Promise<void> {
    try {
      const event = await inspect(pid, this.rule, this.options);
      if (event === undefined || this.closed) return;
      const started = event.detectedAt - event.ageMs;
      // One report per process: a second exec or a rescan of the same process is not a new instance.
      const known = this.reported.get(pid);
      if (known !== undefined && Math.abs(known - started) < 20) return;
      this.reported.set(pid, started);
      if (this.reported.size > 1024) for (const p of this.reported.keys()) if (!existsSync(`${this.options.procRoot}/${p}`)) this.reported.delete(p);
      this.emit('exec', event);
    } catch (error) {
      warn(this, error as Error);
    }
  }

  /** Events were lost (the socket's buffer overran): looks at every process started since `sinceMs`. */
  private async sweep(sinceMs: number): Promise<void> {
    for (const pid of await listPids(this.options.procRoot)) {
      const stat = await readStat(pid, this.options.procRoot);
      if (stat !== undefined && (stat.startTicks * 1000) / USER_HZ >= sinceMs) await this.check(pid);
    }
  }

  /** The socket failed: says so, then polls /proc, counting processes started since the last event as new. */
  private async failOver(errno: number): Promise<void> {
    if (this.fallback) return;
    const since = this.sinceBootMs() - RESCAN_MARGIN_MS;
    // The hub drops the failed socket itself once every watcher has heard of it.
    this.unsubscribe = undefined;
    this.fallback = new PollingExecWatcher(this.rule, this.options, since);
    this.fallback.on('exec', (e) => this.emit('exec', e));
    this.fallback.on('error', (e) => warn(this, e));
    warn(this, new Error(`the process-events connector failed (errno ${errno}); watching by scanning /proc every ${this.options.intervalMs} ms instead`));
    await this.fallback.start();
    if (this.closed) this.fallback.close();
  }
}

/** A watcher, and why it polls when it does. */
export type StartedWatcher = ExecWatcher & { readonly pollReason?: string };

/**
 * Starts watching for new processes matching `rule`: kernel exec events where the connector can be
 * opened, else polling /proc. Resolves once processes running now are recorded (they are found by
 * find.ts, never reported here).
 */
export async function watchExecs(rule: MatchRule, options: PollOptions = {}): Promise<StartedWatcher> {
  const resolved = await resolveRule(rule, options.passwdFile);
  const settings: WatchSettings = {
    intervalMs: options.intervalMs ?? 250,
    recheckMs: options.recheckMs ?? 1000,
    self: options.self ?? process.pid,
    procRoot: options.procRoot ?? '/proc',
  };
  let pollReason = 'asked to poll';
  if (options.source !== 'poll' && settings.procRoot === '/proc') {
    const addon = loadAddon<ProcEventsAddon>('procevents');
    if (addon === undefined) pollReason = 'the procevents addon is not built (npm run build)';
    else {
      const watcher = new ConnectorExecWatcher(addon, resolved, settings);
      try {
        await watcher.open();
        return watcher;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        pollReason = `the process-events connector is unavailable (${(error as Error).message})` +
          (code === 'ECONNREFUSED' || code === 'EPROTONOSUPPORT' ? ': it exists only in the initial network namespace' : '');
      }
    }
  }
  const watcher = new PollingExecWatcher(resolved, settings);
  await watcher.start();
  return Object.assign(watcher, { pollReason });
}
