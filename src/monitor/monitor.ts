// The tunnel monitor: validates its options, picks the sources that fit the tunnel kind,
// feeds their health into the pure state machine and emits its transitions.
import { EventEmitter } from 'node:events';
import { tunnelKind, type TunnelKind } from './detect.js';
import { MonitorError } from './errors.js';
import { HandshakeSource } from './handshake-source.js';
import type { RouteEvent } from './ip-monitor-parse.js';
import { LinkSource } from './link-source.js';
import { NetlinkSource } from './netlink-source.js';
import { readLinkSnapshot, type LinkSnapshot } from './link-snapshot.js';
import { runTool, tools } from '../tools.js';
import { ProbeSource } from './probe-source.js';
import type { SourceHealth } from './source.js';
import { TunnelStateMachine, type TunnelState } from './state-machine.js';
import { validateOptions, type TunnelMonitorOptions } from './options.js';
import { insideAny, tunnelPrefixes } from './subnets.js';

/** A transition as emitted by the monitor. */
export interface MonitorTransition {
  state: TunnelState;
  reason: string;
  at: number;
  source: string;
  /** process.hrtime.bigint() when the source saw the data behind this transition. */
  detectedAt: bigint;
}

/** What `ksapp status` shows of the tunnel. */
export interface MonitorSnapshot {
  iface: string;
  kind: TunnelKind | null;
  state: TunnelState;
  since: number;
  reason: string;
  source: string;
  handshakeAgeMs: number | null;
  probeRttMs: number | null;
  sources: Record<string, { healthy: boolean; reason: string } | null>;
}

type Source = LinkSource | NetlinkSource | HandshakeSource | ProbeSource;

/** How often a tunnel that does not exist yet is looked for (only while it is missing). */
const WAIT_POLL_MS = 200;

/** What a TunnelMonitor tells its listeners. */
export type MonitorEvents = { transition: [MonitorTransition]; reason: [MonitorTransition]; route: [RouteEvent]; warning: [unknown]; endpoints: [readonly string[]] };

/** Watches one tunnel interface; emits `transition` and `reason` (a refined down reason, no state change) as MonitorTransition, and `route` (RouteEvent). */
export class TunnelMonitor extends EventEmitter<MonitorEvents> {
  /** The tunnel kind found by start(). */
  kind: TunnelKind | null = null;
  private machine: TunnelStateMachine;
  private readonly sources = new Map<string, Source>();
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private waiting: NodeJS.Timeout | undefined;

  constructor(private readonly opts: TunnelMonitorOptions) {
    super();
    validateOptions(opts);
    this.clock = opts.clock ?? Date.now;
    this.machine = new TunnelStateMachine([], this.clock(), opts);
  }

  /** Current tunnel state; down until every source has proven otherwise. */
  get state(): TunnelState {
    return this.machine.state;
  }

  /**
   * Checks the interface, then starts every source that fits it; throws
   * MonitorError on a bad tunnel or probe. An interface that does not exist
   * yet, or has no address yet (at boot, before the VPN has connected), is
   * waited for: the tunnel is down, with that reason, until it appears.
   */
  async start(): Promise<void> {
    const snap = await readLinkSnapshot(this.opts.iface);
    // Something that is there but is no tunnel (a typo naming the physical interface) is refused at once.
    const kind = snap ? await tunnelKind(snap) : undefined;
    if (!snap || !kind || snap.addrs.length === 0) {
      this.kind = kind ?? null;
      this.waitForInterface(snap ? `${this.opts.iface} has no address yet` : `${this.opts.iface} does not exist yet`);
      return;
    }
    await this.startSources(snap, kind);
  }

  /** The names of the interfaces of this network namespace now (one `ip link`): whether the tunnel exists, and which tunnel-like ones do. */
  static async interfaceNames(): Promise<string[]> {
    const links = JSON.parse(await runTool(tools.ip, ['-j', 'link', 'show']).catch(() => '[]')) as { ifname?: string }[];
    return links.map((l) => l.ifname ?? '').filter(Boolean);
  }

  /** Down with `reason` until the interface exists with an address, checked every WAIT_POLL_MS; then starts as usual. */
  private waitForInterface(reason: string): void {
    this.machine = new TunnelStateMachine(['link'], this.clock(), this.opts);
    this.machine.update({ source: 'link', healthy: false, reason, at: this.clock() });
    this.waiting = setInterval(() => void (async () => {
      const snap = await readLinkSnapshot(this.opts.iface).catch(() => undefined);
      if (!this.waiting || !snap || snap.addrs.length === 0) return;
      clearInterval(this.waiting);
      this.waiting = undefined;
      try {
        await this.startSources(snap);
      } catch (error) {
        // A wrong interface (not a tunnel) or a probe outside it: stay down, say why, and keep watching.
        this.emit('warning', error);
        await this.stopSources();
        this.waitForInterface((error as Error).message);
      }
    })(), WAIT_POLL_MS);
  }

  /** `kind` when the caller has just found it (start()); otherwise it is found here, for the interface as it is now. */
  private async startSources(snap: LinkSnapshot, kind?: TunnelKind): Promise<void> {
    const { iface, probe } = this.opts;
    this.kind = kind ?? (await tunnelKind(snap));
    if (probe) {
      const prefixes = tunnelPrefixes(snap, this.opts.tunnelCidrs);
      if (!insideAny(probe.address, prefixes)) {
        throw new MonitorError(`probe address ${probe.address} is outside the tunnel's subnets (${prefixes.join(', ') || 'none'})`, {
          code: 'MONITOR_PROBE_OUTSIDE', hint: 'probe an address inside the tunnel, such as the VPN server\'s tunnel address', exitCode: 2,
        });
      }
    }
    const wg = this.kind === 'wireguard' || this.kind === 'wireguard-go';
    // In process where the addon is built: no child to spawn, no subscription to wait for, the first reaction as fast as the rest.
    const netlink = this.opts.linkSource !== 'ip-monitor' && NetlinkSource.available;
    this.sources.set('link', netlink ? new NetlinkSource({ iface }) : new LinkSource({ iface }));
    if (wg) this.sources.set('handshake', new HandshakeSource({ iface, timeoutMs: this.opts.handshakeTimeoutMs, clock: this.clock, ...(this.opts.handshakePollMs ? { pollMs: this.opts.handshakePollMs } : {}) }));
    if (probe) this.sources.set('probe', new ProbeSource({ iface, ...probe }));
    this.machine = new TunnelStateMachine([...this.sources.keys()], this.clock(), this.opts);
    for (const [name, source] of this.sources) {
      source.on('health', (h: SourceHealth) => this.onHealth(name, h));
      source.on('warning', (e: unknown) => this.emit('warning', e));
    }
    this.sources.get('link')?.on('route', (e: RouteEvent) => this.emit('route', e));
    this.sources.get('handshake')?.on('endpoints', (e: readonly string[]) => this.emit('endpoints', e));
    await Promise.all([...this.sources.values()].map((s) => s.start()));
  }

  /** Stops every source and ends every child process they run. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.waiting);
    this.waiting = undefined;
    await this.stopSources();
  }

  /** Why the tunnel is in its state now. */
  reasonNow(): string {
    return this.machine.reason.reason;
  }

  private async stopSources(): Promise<void> {
    await Promise.all([...this.sources.values()].map((s) => s.stop()));
    for (const s of this.sources.values()) s.removeAllListeners();
    this.sources.clear();
  }

  /** The state, since when, why, the handshake age and the last probe RTT. */
  snapshot(): MonitorSnapshot {
    const { source, reason } = this.machine.reason;
    const sources: MonitorSnapshot['sources'] = {};
    for (const [name, s] of this.sources) sources[name] = s.health ? { healthy: s.health.healthy, reason: s.health.reason } : null;
    const hs = this.sources.get('handshake') as HandshakeSource | undefined;
    const probe = this.sources.get('probe') as ProbeSource | undefined;
    return {
      iface: this.opts.iface, kind: this.kind, state: this.machine.state, since: this.machine.since, reason, source,
      handshakeAgeMs: hs?.ageMs ?? null, probeRttMs: probe?.lastRttMs ?? null, sources,
    };
  }

  /** The pid of the link source's `ip monitor` process (diagnostics and tests). */
  get linkMonitorPid(): number | undefined {
    const link = this.sources.get('link');
    return link instanceof LinkSource ? link.monitorPid : undefined;
  }

  private onHealth(source: string, h: SourceHealth): void {
    const before = this.machine.reason.reason;
    const at = this.clock();
    const transitions = this.machine.update({ source, healthy: h.healthy, reason: h.reason, at });
    for (const t of transitions) this.emit('transition', { ...t, detectedAt: h.detectedAt } satisfies MonitorTransition);
    // Deleting an interface first reads as "set down" (the kernel closes it, then deletes it
    // ~0.1 ms later): the transition goes out at once and the better reason follows here.
    const now = this.machine.reason;
    if (transitions.length === 0 && this.machine.state === 'down' && !h.healthy && now.reason !== before) {
      this.emit('reason', { state: 'down', reason: now.reason, source: now.source, at, detectedAt: h.detectedAt } satisfies MonitorTransition);
    }
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const due = this.machine.nextDeadline();
    if (due === null) return;
    this.timer = setTimeout(() => {
      const detectedAt = process.hrtime.bigint();
      for (const t of this.machine.tick(this.clock())) this.emit('transition', { ...t, detectedAt } satisfies MonitorTransition);
      this.schedule();
    }, Math.max(0, due - this.clock()));
  }
}
