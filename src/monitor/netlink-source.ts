// The link source without a child process: the rtnetlink addon subscribes, then dumps on
// the same socket, so the snapshot and the event stream leave no gap between them. Until a
// dump has completed on the current socket this source holds no belief, and a socket
// that failed reports the interface down: it never guesses "up".
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { loadAddon } from '../native/load.js';
import { MonitorError } from './errors.js';
import type { RouteEvent } from './ip-monitor-parse.js';
import type { LinkSnapshot } from './link-snapshot.js';
import { applyEvent, linkHealth, stateFromSnapshot, type LinkState } from './link-state.js';
import { applyToTable, decodeEvent, routeConcerns, snapshotOf, type LinkTable, type RawNetlinkEvent } from './netlink-decode.js';
import type { SourceHealth } from './source.js';

/** Options of the netlink link source. */
export interface NetlinkSourceOptions {
  iface: string;
  /** First reopen delay after the socket failed; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** The addon to use instead of the built one (tests drive the source with a fake). */
  addon?: RtnetlinkAddon;
}

/** The rtnetlink addon's surface: open(callback) → handle, close(handle). */
export interface RtnetlinkAddon {
  open(callback: (events: RawNetlinkEvent[], at: bigint) => void): object;
  close(handle: object): void;
}

const builtAddon = loadAddon<RtnetlinkAddon>('rtnetlink');
const errnoName = (n: number): string => Object.entries(constants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;

/** Emits `health` (SourceHealth) for the interface and `route` (RouteEvent) for routes through it or device-less fallbacks. */
export class NetlinkSource extends EventEmitter {
  private handle: object | undefined;
  private generation = 0;
  private table: LinkTable = new Map();
  private state: LinkState | undefined;
  private stopped = false;
  private backoff: number;
  private openedAt = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private current: SourceHealth | undefined;
  private judged: (() => void) | undefined;
  private readonly addon: RtnetlinkAddon | undefined;

  constructor(private readonly opts: NetlinkSourceOptions) {
    super();
    this.backoff = opts.backoffMs ?? 100;
    this.addon = opts.addon ?? builtAddon;
  }

  /** Whether the rtnetlink addon was built (the caller falls back to LinkSource without it). */
  static get available(): boolean {
    return builtAddon !== undefined;
  }

  /** The interface as it is now (kind, tun type, addresses), from a table kept current since the last dump; null before a dump or when absent. */
  get lastSnapshot(): LinkSnapshot | null {
    return this.state ? snapshotOf(this.table, this.opts.iface) : null;
  }

  /** The last health reported, if any. */
  get health(): SourceHealth | undefined {
    return this.current;
  }

  /** Opens the socket; resolves once the first dump (or a failure) has been judged. */
  async start(): Promise<void> {
    if (!this.addon) {
      throw new MonitorError('the rtnetlink addon is not built', { code: 'MONITOR_NO_NETLINK', hint: 'build the native addons (node-gyp rebuild in src/native)', userFixable: false });
    }
    this.stopped = false;
    // The addon's thread does not hold the event loop open: until the dump is in, this timer does,
    // or a daemon with nothing else open yet would end here (exit 13, an unsettled await).
    const holdOpen = setInterval(() => undefined, 1000);
    try {
      await new Promise<void>((resolve) => {
        this.judged = resolve;
        this.open();
      });
    } finally {
      clearInterval(holdOpen);
    }
  }

  /** Closes the socket and any pending reopen. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    this.close();
    this.judged?.();
    this.judged = undefined;
  }

  private open(): void {
    this.close();
    const generation = ++this.generation;
    this.table = new Map();
    this.state = undefined; // no belief until this socket's dump is done
    this.openedAt = Date.now();
    try {
      this.handle = this.addon?.open((events, at) => {
        if (generation === this.generation && !this.stopped) this.onBatch(events, at);
      });
    } catch (error) {
      this.fail((error as { code?: string }).code ?? String(error));
    }
  }

  private close(): void {
    const handle = this.handle;
    this.handle = undefined;
    this.generation++;
    if (handle) this.addon?.close(handle);
  }

  // One batch (everything queued when the thread woke) is judged as a whole: deleting an
  // interface sends "down", the address removals and the deletion back to back.
  private onBatch(events: RawNetlinkEvent[], at: bigint): void {
    let changed = false;
    const routes: RouteEvent[] = [];
    for (const raw of events) {
      if (raw.kind === 'failed') return this.fail(errnoName(raw.errno));
      if (raw.kind === 'overrun') {
        this.state = undefined; // events were lost; the addon re-dumps and we judge afresh
        this.table = new Map();
        continue;
      }
      if (raw.kind === 'dump-done') {
        this.state = stateFromSnapshot(this.opts.iface, snapshotOf(this.table, this.opts.iface));
        changed = true;
        continue;
      }
      const event = decodeEvent(raw, this.table);
      applyToTable(this.table, raw);
      if (!event || !this.state) continue;
      if (raw.kind === 'route') {
        if (event.kind === 'route' && routeConcerns(raw, this.state.ifindex)) routes.push(event);
        continue;
      }
      const result = applyEvent(this.state, event);
      // Another ifindex took our name: the table already holds all of it, no kernel call needed.
      if (result === 'resync') this.state = stateFromSnapshot(this.opts.iface, snapshotOf(this.table, this.opts.iface));
      changed ||= result !== 'ignored';
    }
    if (changed && this.state) this.report(linkHealth(this.state), at);
    // After the verdict: routes the kernel drops with a link going down must not queue ahead of its transition.
    for (const event of routes) this.emit('route', event);
  }

  private fail(why: string): void {
    this.close();
    this.state = undefined;
    this.report({ healthy: false, reason: `link monitor failed: ${why}` }, process.hrtime.bigint());
    if (this.stopped) return;
    if (Date.now() - this.openedAt > 10_000) this.backoff = this.opts.backoffMs ?? 100;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 5000);
    this.reopenTimer = setTimeout(() => this.open(), delay);
  }

  private report(h: { healthy: boolean; reason: string }, detectedAt: bigint): void {
    const judged = this.judged;
    this.judged = undefined;
    judged?.();
    if (this.current && this.current.healthy === h.healthy && this.current.reason === h.reason) return;
    this.current = { ...h, detectedAt };
    this.emit('health', this.current);
  }
}
