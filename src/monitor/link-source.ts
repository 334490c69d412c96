// Hard signals from the kernel as they happen: one long-running `ip -o monitor` (no
// polling) plus a snapshot taken after it subscribed, so the state before the first event
// is known. Whenever the monitor process is not running, or has not been followed by a
// fresh snapshot, the interface counts as down: this source never guesses "up".
import { EventEmitter } from 'node:events';
import { startProgram, type Started } from '../spawn.js';
import { tools } from '../tools.js';
import { parseMonitorLine, type MonitorEvent, type RouteEvent } from './ip-monitor-parse.js';
import { readLinkSnapshot, type LinkSnapshot } from './link-snapshot.js';
import { applyEvent, linkHealth, stateFromSnapshot, type LinkState } from './link-state.js';
import { waitNetlinkSubscribed } from './netlink-ready.js';
import type { SourceHealth } from './source.js';

/** Options of the link source. */
export interface LinkSourceOptions {
  iface: string;
  ip?: string;
  /** First restart delay after the monitor process died; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

const EXITED = 'link monitor exited';

/** Emits `health` (SourceHealth) for the interface and `route` (RouteEvent) for routes through it. */
export class LinkSource extends EventEmitter {
  /** The latest snapshot taken (for callers that need the addresses). */
  lastSnapshot: LinkSnapshot | null = null;
  private child: Started | undefined;
  private state: LinkState | undefined;
  private buffered: MonitorEvent[] | null = null;
  private stopped = false;
  private backoff: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private current: SourceHealth | undefined;
  private readonly ip: string;

  constructor(private readonly opts: LinkSourceOptions) {
    super();
    this.ip = opts.ip ?? tools.ip;
    this.backoff = opts.backoffMs ?? 100;
  }

  /** The last health reported, if any. */
  get health(): SourceHealth | undefined {
    return this.current;
  }

  /** The pid of the running `ip monitor`, for diagnostics and tests. */
  get monitorPid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the monitor process; resolves once the first snapshot has been judged. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.cycle();
  }

  /** Ends the monitor process and any pending restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.kill('SIGTERM');
      await child.result;
    }
  }

  private async cycle(): Promise<void> {
    this.state = undefined; // no belief until a fresh snapshot
    this.buffered = [];
    const startedAt = Date.now();
    // setpriv --pdeathsig: a SIGKILLed daemon takes its ip monitor along (setpriv execs ip, same pid).
    // A monitor that cannot start (EMFILE, ENOMEM) ends at once: the interface counts as down and the restart backs off.
    const child = startProgram('setpriv', ['--pdeathsig', 'TERM', '--', this.ip, '-o', 'monitor', 'link', 'address', 'route'], { stdout: 'stream' });
    this.child = child;
    let rest = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      this.onLines(lines, process.hrtime.bigint());
    });
    void child.result.then(() => this.onExit(child, Date.now() - startedAt));
    if (child.pid !== undefined) await waitNetlinkSubscribed(child.pid);
    if (this.child === child) await this.resync();
  }

  // One chunk is judged as a whole: deleting an interface makes the kernel send "down",
  // the address removals and "Deleted" back to back, and the reason should say deleted.
  private onLines(lines: string[], at: bigint): void {
    let changed = false;
    let resync = false;
    for (const line of lines) {
      const event = parseMonitorLine(line);
      if (!event) continue;
      if (this.buffered) this.buffered.push(event);
      else if (this.state && event.kind === 'route') this.routeEvent(event);
      else if (this.state) {
        const result = applyEvent(this.state, event);
        changed ||= result === 'changed';
        resync ||= result === 'resync';
      }
    }
    if (changed && this.state) this.report(linkHealth(this.state), at);
    if (resync) void this.resync();
  }

  private routeEvent(event: RouteEvent): void {
    const dev = event.dev;
    if (dev !== undefined && (dev === this.opts.iface || dev === this.state?.name)) this.emit('route', event);
  }

  /** Takes a fresh snapshot while buffering events, then replays what arrived meanwhile. */
  private async resync(): Promise<void> {
    this.buffered ??= [];
    const child = this.child;
    let snap: LinkSnapshot | null;
    try {
      snap = await readLinkSnapshot(this.opts.iface, this.ip);
    } catch (error) {
      this.emit('warning', error);
      snap = null;
    }
    if (this.child !== child || !child) return; // the monitor died meanwhile; its restart resyncs
    this.lastSnapshot = snap;
    this.state = stateFromSnapshot(this.opts.iface, snap);
    const pending = this.buffered ?? [];
    this.buffered = null;
    let again = false;
    for (const event of pending) {
      if (event.kind !== 'route' && applyEvent(this.state, event) === 'resync') again = event.ifindex !== snap?.ifindex;
    }
    this.report(linkHealth(this.state), process.hrtime.bigint());
    if (again) await this.resync();
  }

  private onExit(child: Started, livedMs: number): void {
    if (this.child !== child || this.stopped) return;
    this.child = undefined;
    this.state = undefined;
    this.report({ healthy: false, reason: EXITED }, process.hrtime.bigint());
    if (livedMs > 10_000) this.backoff = this.opts.backoffMs ?? 100;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 5000);
    this.restartTimer = setTimeout(() => void this.cycle().catch((e: unknown) => this.emit('warning', e)), delay);
  }

  private report(h: { healthy: boolean; reason: string }, detectedAt: bigint): void {
    if (this.current && this.current.healthy === h.healthy && this.current.reason === h.reason) return;
    this.current = { ...h, detectedAt };
    this.emit('health', this.current);
  }
}
