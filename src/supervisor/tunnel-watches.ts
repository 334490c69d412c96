import { MAX_TUNNELS } from '../firewall/policy.js';
import { SupervisorError } from './errors.js';
import type { TunnelWatch } from './types.js';
import type { Families, Input } from './world.js';

/** How long a monitor gets at start to prove its tunnel up before the tunnel counts as down. */
const START_GRACE_MS = 2000;

/** A tunnel to watch: its monitor, and (multi-hop) the tunnel it runs inside. */
export interface WatchedTunnel {
  readonly iface: string;
  readonly monitor: TunnelWatch;
  readonly via?: string;
  /** Resolvers inside it (the supervisor's default when absent or empty). */
  readonly dns?: Families;
}

/**
 * The supervisor's tunnel monitors, one per tunnel, each with its slot of the
 * mark space (0 for the primary): what each says goes to the loop as an
 * input naming the tunnel.
 */
export class TunnelWatches {
  private readonly watched = new Map<string, { watch: WatchedTunnel; slot: number; grace?: NodeJS.Timeout }>();

  constructor(private readonly heard: (input: Input) => void, private readonly warn: (iface: string, error: unknown) => void) {}

  /** The slot a tunnel has, undefined when it is not watched. */
  slotOf(iface: string): number | undefined {
    return this.watched.get(iface)?.slot;
  }

  /** Every watched tunnel with its slot, in slot order. */
  list(): Array<WatchedTunnel & { slot: number }> {
    return [...this.watched.values()].map((w) => ({ ...w.watch, slot: w.slot })).sort((a, b) => a.slot - b.slot);
  }

  /** Takes a tunnel in: gives it the lowest free slot and hears its monitor; refused past MAX_TUNNELS. */
  add(watch: WatchedTunnel): number {
    const known = this.watched.get(watch.iface);
    if (known) return known.slot;
    const used = new Set([...this.watched.values()].map((w) => w.slot));
    let slot = 0;
    while (used.has(slot)) slot++;
    if (slot >= MAX_TUNNELS) {
      throw new SupervisorError(`cannot watch ${watch.iface}: ${MAX_TUNNELS} tunnels are watched already`, {
        code: 'TOO_MANY_TUNNELS', exitCode: 2, hint: 'let apps share tunnels, or run a second daemon with its own --socket',
      });
    }
    const { iface, monitor } = watch;
    monitor.on('transition', (transition) => this.heard({ type: 'tunnel', iface, transition }));
    monitor.on('route', (change) => this.heard({ type: 'route', change }));
    // Heard by status, the dashboard and the log: why the tunnel is down in better words, and a source's trouble.
    monitor.on('reason', (t) => this.heard({ type: 'tunnel-reason', iface, reason: t.reason }));
    monitor.on('warning', (e) => this.warn(iface, e));
    monitor.on('endpoints', (endpoints) => this.heard({ type: 'tunnel-endpoints', iface, endpoints }));
    this.watched.set(iface, { watch, slot });
    return slot;
  }

  /** Starts a tunnel's monitor; a tunnel already dead never produces a transition, so after a grace its belief counts. */
  async start(iface: string): Promise<void> {
    const entry = this.watched.get(iface);
    if (!entry) return;
    await entry.watch.monitor.start();
    entry.grace = setTimeout(() => this.heard({
      type: 'start-grace', iface, monitorDown: entry.watch.monitor.state === 'down', why: entry.watch.monitor.reasonNow?.(), at: Date.now(),
    }), START_GRACE_MS);
  }

  /** Stops every monitor. */
  async stop(): Promise<void> {
    for (const entry of this.watched.values()) clearTimeout(entry.grace);
    await Promise.all([...this.watched.values()].map(async (e) => { await Promise.resolve(e.watch.monitor.stop()).catch(() => undefined); }));
  }
}
