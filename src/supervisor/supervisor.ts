import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Cgroup, cgroupLevel, nftCgroupPath } from '../../cgroups/index.js';
import {
  appCounters, checkCgroupMatchSupport, ensureRouting, FORMAT_MARKER, markFor, readTable, removeRouting, removeTable,
} from '../firewall/index.js';
import { checkAppName } from '../app-name.js';
import type { App, AppOptions } from './app.js';
import { recoverApps, type SavedApp } from './reconcile.js';
import { SupervisorError } from './errors.js';
import type { Effects } from './execute.js';
import { kernelEffects, policyFor } from './kernel-effects.js';
import { ExitWatchers, stillHolds } from './exit-watch.js';
import { StateLoop } from './loop.js';
import { TunnelWatches, type WatchedTunnel } from './tunnel-watches.js';
import type { SupervisorEvent, TunnelWatch } from './types.js';
import type { Allowlist } from '../config/allow.js';
import type { Families, Input, ResolvedName, TunnelState, TunnelView, World } from './world.js';

/**
 * The group the exec guard puts new instances of configured programs into
 * before they run: below the parent, so the parent's catch-all rule confines
 * them. Its name holds a "+", which no app name may, so it is never an app.
 */
export const STAGING_GROUP = 'exec+staging';

/** How the supervisor is set up. */
export interface SupervisorOptions {
  readonly tunnelIface: string;
  /** The cgroup2 mount point. */
  readonly cgroupRoot: string;
  /** Parent group for app groups, relative to the mount (e.g. `ksapp`). */
  readonly cgroupParent: string;
  readonly dns: Families;
  readonly lan: Families;
  /** Ranges every app may reach directly (config `allow`). */
  readonly allow?: Allowlist;
  /** The primary tunnel's monitor; transitions drive the apps' policies. */
  readonly monitor: TunnelWatch;
  /** More configured tunnels apps may name (each with its own monitor); slots in this order after the primary. */
  readonly moreTunnels?: readonly WatchedTunnel[];
  /** A monitor with default settings for a tunnel an app names that is not configured; without it such a name is refused. */
  readonly watchTunnel?: (iface: string) => TunnelWatch;
  /** Starts a killed app again (onDrop kill with restart) when the tunnel is back. */
  readonly restart?: (app: App) => Promise<void>;
}

/**
 * Owns the ksapp cgroup subtree and firewall table. Every input (a tunnel
 * transition, a command, an app's end, an adoption, a reload) goes through
 * one loop: the state machine (machine.ts) gives the next world and the
 * actions, which run before the next input is taken.
 */
export class Supervisor extends EventEmitter<{ event: [SupervisorEvent] }> {
  /** Absolute path of the parent group every app group lives under. */
  readonly parentPath: string;
  private parentGroup: Cgroup | undefined;
  /** The one loop, owner of the world: inputs, and the teardown of the table, one at a time. */
  private readonly loop: StateLoop;
  private readonly watchers = new ExitWatchers();
  private readonly monitors = new TunnelWatches((input) => this.heard(input), (iface, e) => this.record({
    type: 'monitor-warning', tunnel: iface, detail: e instanceof Error ? e.message : String(e),
  }));
  private started = false;
  /** Per tunnel: resolves with its first verdict (a transition, or its start grace running out). */
  private readonly verdicts = new Map<string, { promise: Promise<void>; settle: () => void }>();

  constructor(readonly options: SupervisorOptions) {
    super();
    this.parentPath = path.join(options.cgroupRoot, options.cgroupParent);
    const none = { v4: [], v6: [] };
    const tunnels = new Map<string, TunnelState>();
    for (const t of [{ iface: options.tunnelIface, monitor: options.monitor }, ...(options.moreTunnels ?? [])]) {
      const slot = this.monitors.add(t);
      tunnels.set(t.iface, { state: 'unknown', since: Date.now(), reason: 'starting', slot, dns: t.dns ?? none, ...(t.via ? { via: t.via } : {}) });
    }
    this.loop = new StateLoop({
      primary: options.tunnelIface, tunnels, apps: new Map(), dns: options.dns, lan: options.lan, ...(options.allow ? { allow: options.allow } : {}),
    }, (world) => this.effects(world), stillHolds);
  }

  /** The protected apps, by name (read-only: only the loop changes them). */
  get apps(): ReadonlyMap<string, App> {
    return this.loop.current.apps;
  }

  /** What the supervisor believes about the primary tunnel. */
  get tunnel(): TunnelView {
    const t = this.loop.current.tunnels.get(this.options.tunnelIface);
    return t ? { state: t.state, since: t.since, reason: t.reason } : { state: 'unknown', since: 0, reason: 'not watched' };
  }

  /** The packet mark an app's sockets carry now (its id, in its tunnel's slot). */
  markOf(app: App): number {
    return markFor(app.id, this.tunnels.get(app.rides)?.slot ?? 0);
  }

  /** The resolvers inside a tunnel that its apps' DNS is sent to (the primary's settings when it has none of its own). */
  resolversOf(iface: string): Families {
    const own = this.loop.current.tunnels.get(iface)?.dns;
    return own && (own.v4.length || own.v6.length) ? own : this.loop.current.dns;
  }

  /** Ranges and names every app may reach directly (config `allow`), when any. */
  get allow(): Allowlist | undefined {
    return this.loop.current.allow;
  }

  /** The addresses allowlisted names resolve to now. */
  get resolved(): ReadonlyMap<string, ResolvedName> {
    return this.loop.current.resolved ?? new Map();
  }

  /** Every watched tunnel, by interface. */
  get tunnels(): ReadonlyMap<string, TunnelState> {
    return this.loop.current.tunnels;
  }

  /**
   * Watches a tunnel an app names (with default settings when it is not
   * configured): its slot, routing table and rules first, then its monitor.
   */
  async watchTunnel(iface: string): Promise<void> {
    if (this.monitors.slotOf(iface) !== undefined) return;
    const monitor = this.options.watchTunnel?.(iface);
    if (!monitor) {
      throw new SupervisorError(`no tunnel named ${iface} is watched by this daemon`, {
        code: 'TUNNEL_UNKNOWN', exitCode: 2, hint: `add it under \`tunnels:\` in the config, or use --tunnel ${this.options.tunnelIface}`,
      });
    }
    const slot = this.monitors.add({ iface, monitor });
    await this.dispatch({ type: 'tunnel-added', iface, slot, dns: { v4: [], v6: [] } });
    if (this.started) await this.monitors.start(iface);
  }

  /**
   * Takes one input through the loop (see StateLoop). A refusal or a failed
   * action is the returned promise's error.
   */
  dispatch(input: Input): Promise<void> {
    return this.loop.dispatch(input);
  }

  /** Resolves once every input taken so far has been stepped and its actions run. */
  idle(): Promise<void> {
    return this.loop.inTurn(async () => undefined);
  }

  /** Dispatches an input nobody waits for; what fails is logged. */
  private heard(input: Input): void {
    void this.dispatch(input).catch((error: unknown) => this.record({ type: 'error', detail: String(error) }));
  }

  /** The parent group; exists once start() has run. */
  get parent(): Cgroup {
    if (!this.parentGroup) throw new SupervisorError('supervisor used before start()', { code: 'NOT_STARTED', userFixable: false });
    return this.parentGroup;
  }

  /**
   * Creates the parent group, takes back the live app groups a previous run
   * left (their rules never left the kernel), removes empty leftovers, loads
   * the rules and routing, then starts the monitor.
   */
  async start(saved: readonly SavedApp[] = []): Promise<void> {
    const existed = existsSync(this.parentPath);
    const parent = await Cgroup.create(this.parentPath);
    this.parentGroup = parent;
    let remove: Cgroup[] = [];
    let keep: App[] = [];
    try {
      await checkCgroupMatchSupport(nftCgroupPath(this.options.cgroupRoot, parent.path), cgroupLevel(this.options.cgroupRoot, parent.path));
      ({ keep, remove } = await recoverApps(parent, saved, STAGING_GROUP, this.options.tunnelIface));
      // A tunnel a saved app rode that is no longer configured is watched with default settings.
      for (const iface of new Set(keep.flatMap((a) => a.tunnels))) await this.watchTunnel(iface).catch(() => undefined);
      const watched = keep.map((a) => ({ ...a, tunnels: a.tunnels.filter((t) => this.monitors.slotOf(t) !== undefined) }))
        .map((a) => (a.tunnels.length ? a : { ...a, tunnels: [this.options.tunnelIface] }))
        .map((a) => (a.tunnels.includes(a.rides) ? a : { ...a, rides: a.tunnels[0]! }));
      // Rules before routing: a refused table leaves no ip rule behind, and marked packets without
      // the rule still meet the egress check.
      await this.dispatch({ type: 'recovered', apps: watched });
      for (const t of this.monitors.list()) await ensureRouting(null, t.slot);
      // After the apps are back, so the first transition acts on them too.
      this.started = true;
      for (const t of this.monitors.list()) await this.monitors.start(t.iface);
    } catch (error) {
      await this.undoStart(existed, keep.length > 0);
      throw error;
    }
    for (const group of remove) await group.remove().catch((e: unknown) => this.record({ type: 'error', detail: String(e) }));
    // An interface's or LAN's group is empty by design: it stands for traffic routed for others, and never exits.
    for (const app of keep) if (!(app.forwarded?.length && !app.inPlace)) this.watchExit(app);
  }

  /**
   * A refused start (a foreign table, no cgroup match, a bad tunnel or probe)
   * leaves nothing of its own behind — but rules that confine apps a previous
   * daemon left stay, and so does a parent that existed before.
   */
  private async undoStart(parentExisted: boolean, appsAlive: boolean): Promise<void> {
    await this.monitors.stop();
    this.loop.forgetApps();
    if (appsAlive) return;
    if (!parentExisted) {
      await this.loop.inTurn(async () => {
        if ((await readTable().catch(() => undefined))?.counters.has(FORMAT_MARKER)) await removeTable();
        await removeRouting();
      }).catch(() => undefined);
      await this.parentGroup?.remove().catch(() => undefined);
    }
  }

  /** Creates a protected app's group and rules; the caller then puts the app's first process in it. */
  async addApp(options: AppOptions): Promise<App> {
    if (this.apps.has(options.name)) {
      throw new SupervisorError(`an app named "${options.name}" is already protected`, {
        code: 'APP_EXISTS', exitCode: 2, hint: 'choose another --name, or release the running one first',
      });
    }
    checkAppName(options.name);
    const tunnels = options.tunnels?.length ? [...options.tunnels] : [this.options.tunnelIface];
    for (const iface of tunnels) await this.watchTunnel(iface);
    // A new group, never an existing one: the clean-up below then removes only what this call made.
    const cgroup = options.inPlace ? Cgroup.open(options.inPlace) : await this.parent.makeChild(options.name);
    const app: App = {
      // The id is the loop's to give (see the `add` step); 0 stands in until then.
      ...options, id: 0, cgroup, tunnels, failback: options.failback ?? true, rides: tunnels[0]!,
      state: 'running', blocked: false, manualFreeze: false, addedAt: Date.now(),
    };
    try {
      await this.dispatch({ type: 'add', app, empty: !options.inPlace });
    } catch (error) {
      // The rules never took it: gone again, and so is a group this call made (never another app of that name).
      if (this.apps.get(app.name)?.cgroup === cgroup) await this.dispatch({ type: 'remove', name: app.name }).catch(() => undefined);
      else if (!options.inPlace) await cgroup.remove().catch(() => undefined);
      throw error;
    }
    return this.apps.get(app.name) ?? app;
  }

  /** The exec guard's staging group, made when first asked for (see STAGING_GROUP). */
  async stagingGroup(): Promise<Cgroup> {
    return Cgroup.create(path.join(this.parent.path, STAGING_GROUP));
  }

  /**
   * Starts watching the app's group: when its last process exits, the app is
   * removed. A group protected in place (a unit, a container) belongs to its
   * manager, who empties it between a unit's ExecStartPre and its main
   * process, or while it restarts: that app goes only with the group itself.
   */
  watchExit(app: App): void {
    this.watchers.watch(app, () => this.heard({ type: 'emptied', name: app.name }));
  }

  /** Stops watching an app's group for its end (release moves its processes out first). */
  unwatch(name: string): void {
    this.watchers.unwatch(name);
  }

  /** Kills what is left of an app, removes its group and rules. */
  removeApp(name: string): Promise<void> {
    return this.dispatch({ type: 'remove', name });
  }

  /** Takes new DNS and LAN settings and re-applies the firewall. */
  reconfigure(settings: { dns: Families; lan: Families; allow?: Allowlist }): Promise<void> {
    return this.dispatch({ type: 'settings', ...settings });
  }

  /** Re-applies the firewall from the current apps and tunnel (one transaction), e.g. for a unit's new group at the same path. */
  reloadRules(): Promise<void> {
    return this.dispatch({ type: 'settings' });
  }

  /** The kernel side of the loop's actions, for the world a step produced. */
  private effects(world: World): Effects {
    return kernelEffects(world, {
      policy: (w) => policyFor(w, this.options.cgroupRoot, this.parent.path, Date.now()),
      restart: async (app) => { await this.options.restart?.(app); },
      unwatch: (name) => this.unwatch(name),
      record: (event) => this.record(event),
    });
  }

  /** Per-app packet counters as the kernel holds them, by app name. */
  async counters(): Promise<Map<string, { tunnel: number; tunnelBytes: number; dropped: number }>> {
    const facts = await readTable();
    return new Map([...this.apps.values()].map((app) => {
      const c = facts ? appCounters(facts, app.id) : { tunnelPackets: 0, tunnelBytes: 0, dropped: 0 };
      return [app.name, { tunnel: c.tunnelPackets, tunnelBytes: c.tunnelBytes, dropped: c.dropped }];
    }));
  }

  /**
   * Stops the monitor. With no app left the table, routing and parent group go;
   * otherwise the rules stay in the kernel so the apps stay confined.
   */
  async stop(): Promise<void> {
    await this.monitors.stop();
    this.watchers.clear();
    if (this.apps.size > 0 || !this.parentGroup) return;
    // An empty staging group goes; one still holding a process keeps the rules in force for it.
    await Promise.resolve().then(() => Cgroup.open(path.join(this.parent.path, STAGING_GROUP)).remove()).catch(() => undefined);
    const others = await this.parent.children().catch(() => []);
    if (others.length > 0) return; // groups this supervisor does not own: their confinement must not lapse
    await this.loop.inTurn(async () => {
      await removeTable();
      await removeRouting();
    });
    await this.parent.remove().catch(() => undefined);
  }

  /** Records an event and tells listeners (the daemon persists state on every event). */
  record(event: Omit<SupervisorEvent, 'at'>): void {
    if ((event.type === 'tunnel-up' || event.type === 'tunnel-down') && event.tunnel !== undefined) this.verdictOf(event.tunnel).settle();
    this.emit('event', { at: Date.now(), ...event } satisfies SupervisorEvent);
  }

  /** Resolves once a tunnel's state is known (its first transition after start, or its start grace ran out); the primary by default. */
  tunnelKnown(iface = this.options.tunnelIface): Promise<void> {
    return this.verdictOf(iface).promise;
  }

  private verdictOf(iface: string): { promise: Promise<void>; settle: () => void } {
    let v = this.verdicts.get(iface);
    if (!v) {
      let settle!: () => void;
      const promise = new Promise<void>((resolve) => { settle = resolve; });
      this.verdicts.set(iface, (v = { promise, settle }));
    }
    return v;
  }
}
