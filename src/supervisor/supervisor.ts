import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Cgroup, cgroupLevel, nftCgroupPath } from '../../cgroups/index.js';
import {
  appCounters, applyPolicy, checkCgroupMatchSupport, ensureRouting, FORMAT_MARKER, readTable, removeRouting, removeTable,
  type FirewallPolicy,
} from '../firewall/index.js';
import { checkAppName } from '../app-name.js';
import { nextAppId, type App, type AppOptions } from './app.js';
import { inPlaceSurvivors, reconcile, type SavedApp } from './reconcile.js';
import { SupervisorError } from './errors.js';
import { SerialQueue } from './serial.js';
import { onTunnelDown } from './policies.js';
import { reactToRoute, reactToTransition } from './reactions.js';
import type { SupervisorEvent, TunnelWatch } from './types.js';

/**
 * The group the exec guard puts new instances of configured programs into
 * before they run: below the parent, so the parent's catch-all rule confines
 * them. Its name holds a "+", which no app name may, so it is never an app.
 */
export const STAGING_GROUP = 'exec+staging';

/** How long the monitor gets at start to prove the tunnel up before the tunnel counts as down. */
const START_GRACE_MS = 2000;

/** How the supervisor is set up. */
export interface SupervisorOptions {
  readonly tunnelIface: string;
  /** The cgroup2 mount point. */
  readonly cgroupRoot: string;
  /** Parent group for app groups, relative to the mount (e.g. `ksapp`). */
  readonly cgroupParent: string;
  readonly dns: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  readonly lan: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  /** The tunnel monitor; transitions drive the apps' policies. */
  readonly monitor: TunnelWatch;
  /** Starts a killed app again (onDrop kill with restart) when the tunnel is back. */
  readonly restart?: (app: App) => Promise<void>;
}

/** Owns the ksapp cgroup subtree and firewall table, and applies each app's policy on tunnel transitions. */
export class Supervisor extends EventEmitter<{ event: [SupervisorEvent] }> {
  readonly apps = new Map<string, App>();
  /** Absolute path of the parent group every app group lives under. */
  readonly parentPath: string;
  private parentGroup: Cgroup | undefined;
  tunnel: { state: 'up' | 'down' | 'unknown'; since: number; reason: string } = { state: 'unknown', since: Date.now(), reason: 'starting' };
  private readonly queue = new SerialQueue();
  /** Tunnel transitions, manual commands and a new app's first policy, one at a time, so none acts on a state another is changing. */
  private readonly actions = new SerialQueue();
  private settings: Pick<SupervisorOptions, 'dns' | 'lan'>;
  private startGrace: NodeJS.Timeout | undefined;
  private settle!: () => void;
  private readonly known = new Promise<void>((resolve) => { this.settle = resolve; });

  constructor(readonly options: SupervisorOptions) {
    super();
    this.parentPath = path.join(options.cgroupRoot, options.cgroupParent);
    this.settings = { dns: options.dns, lan: options.lan };
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
      await checkCgroupMatchSupport(this.ref(parent).nftPath, this.ref(parent).level);
      const apps = (await parent.children()).filter((c) => path.basename(c.path) !== STAGING_GROUP);
      const found = await Promise.all(apps.map(async (cgroup) => ({ cgroup, ...(await cgroup.events()) })));
      ({ keep, remove } = reconcile(found, saved));
      keep.push(...(await inPlaceSurvivors(saved)));
      for (const app of keep) this.apps.set(app.name, app);
      // Rules before routing: a refused table leaves no ip rule behind, and marked packets without
      // the rule still meet the egress check.
      await this.sync();
      await ensureRouting(null);
      this.options.monitor.on('transition', (t) => void this.serially(() => reactToTransition(this, t)));
      this.options.monitor.on('route', (r) => void reactToRoute(this, r));
      // Heard by status, the dashboard and the log: why the tunnel is down in better words, and a source's trouble.
      this.options.monitor.on('reason', (t) => void this.serially(async () => {
        if (this.tunnel.state !== 'down' || this.tunnel.reason === t.reason) return;
        this.tunnel = { ...this.tunnel, reason: t.reason };
        this.record({ type: 'tunnel-reason', detail: t.reason });
      }));
      this.options.monitor.on('warning', (e) => this.record({ type: 'monitor-warning', detail: e instanceof Error ? e.message : String(e) }));
      // After the apps are back, so the first transition acts on them too.
      await this.options.monitor.start();
    } catch (error) {
      await this.undoStart(existed, keep.length > 0);
      throw error;
    }
    for (const group of remove) await group.remove().catch((e: unknown) => this.record({ type: 'error', detail: String(e) }));
    for (const app of keep) {
      this.watchExit(app);
      this.record({ type: 'app-recovered', app: app.name, detail: `${app.state}, policy ${app.onDrop}` });
    }
    // A tunnel already dead at start never produces a transition: give the sources a moment, then act on the belief.
    this.startGrace = setTimeout(() => {
      if (this.tunnel.state === 'unknown' && this.options.monitor.state === 'down') {
        const why = this.options.monitor.reasonNow?.();
        void this.serially(() => reactToTransition(this, { state: 'down', reason: `the tunnel did not come up${why ? `: ${why}` : ''}`, at: Date.now() }));
      }
    }, START_GRACE_MS);
  }

  /**
   * A refused start (a foreign table, no cgroup match, a bad tunnel or probe)
   * leaves nothing of its own behind — but rules that confine apps a previous
   * daemon left stay, and so does a parent that existed before.
   */
  private async undoStart(parentExisted: boolean, appsAlive: boolean): Promise<void> {
    await Promise.resolve(this.options.monitor.stop()).catch(() => undefined);
    this.apps.clear();
    if (appsAlive) return;
    if (!parentExisted) {
      await this.queue.run(async () => {
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
    // A new group, never an existing one: the clean-up below then removes only what this call made.
    const cgroup = options.inPlace ? Cgroup.open(options.inPlace) : await this.parent.makeChild(options.name);
    const app: App = {
      ...options, id: nextAppId([...this.apps.values()].map((a) => a.id)), cgroup,
      state: 'running', blocked: false, manualFreeze: false, addedAt: Date.now(),
    };
    this.apps.set(app.name, app);
    try {
      await this.sync();
    } catch (error) {
      this.apps.delete(app.name);
      if (!options.inPlace) await cgroup.remove().catch(() => undefined);
      throw error;
    }
    this.record({ type: 'app-added', app: app.name, detail: `policy ${app.onDrop}` });
    // In line with transitions: an `up` handled meanwhile must see this app frozen, or it would stay frozen.
    await this.serially(async () => { if (this.tunnel.state !== 'up') await onTunnelDown(this, [app]); });
    return app;
  }

  /** Runs an action on the apps after every one queued before it (see `actions`). */
  serially<T>(task: () => Promise<T>): Promise<T> {
    return this.actions.run(task);
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
    app.unwatch?.();
    const gone = (): void => {
      if (app.state === 'killed' && app.restart) return; // waits for the tunnel to come back
      app.state = 'exited';
      this.record({ type: 'app-exited', app: app.name });
      void this.removeApp(app.name).catch((error: unknown) => this.record({ type: 'error', app: app.name, detail: String(error) }));
    };
    app.unwatch = app.inPlace ? app.cgroup.watchRemoved(gone) : app.cgroup.watchPopulated(gone);
  }

  /** Kills what is left of an app, removes its group and rules. */
  async removeApp(name: string): Promise<void> {
    const app = this.apps.get(name);
    if (!app) return;
    app.unwatch?.();
    await app.cgroup.thaw().catch(() => undefined);
    if (!app.inPlace) {
      if ((await app.cgroup.events().catch(() => ({ populated: false }))).populated) await app.cgroup.kill();
      await app.cgroup.remove();
    }
    this.apps.delete(name);
    await this.sync();
    this.record({ type: 'app-removed', app: name });
  }

  /** Takes new DNS and LAN settings and re-applies the firewall. */
  async reconfigure(settings: Pick<SupervisorOptions, 'dns' | 'lan'>): Promise<void> {
    this.settings = { ...this.settings, ...settings };
    await this.sync();
  }

  /** Re-applies the firewall from the current apps and tunnel (one transaction). */
  sync(): Promise<void> {
    return this.queue.run(async () => {
      await applyPolicy(this.policy());
    });
  }

  /** The firewall policy for the current state (pure apart from reading this object). */
  policy(): FirewallPolicy {
    return {
      tunnelIface: this.options.tunnelIface,
      parent: this.ref(this.parent),
      apps: [...this.apps.values()].map((a) => ({
        id: a.id, name: a.name, cgroup: this.ref(a.cgroup), allowLan: a.allowLan, blocked: a.blocked,
      })),
      dns: this.settings.dns,
      lan: this.settings.lan,
    };
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
    clearTimeout(this.startGrace);
    await this.options.monitor.stop();
    for (const app of this.apps.values()) app.unwatch?.();
    if (this.apps.size > 0 || !this.parentGroup) return;
    // An empty staging group goes; one still holding a process keeps the rules in force for it.
    await Promise.resolve().then(() => Cgroup.open(path.join(this.parent.path, STAGING_GROUP)).remove()).catch(() => undefined);
    const others = await this.parent.children().catch(() => []);
    if (others.length > 0) return; // groups this supervisor does not own: their confinement must not lapse
    await this.queue.run(async () => {
      await removeTable();
      await removeRouting();
    });
    await this.parent.remove().catch(() => undefined);
  }

  /** Records an event and tells listeners (the daemon persists state on every event). */
  record(event: Omit<SupervisorEvent, 'at'>): void {
    if (event.type === 'tunnel-up' || event.type === 'tunnel-down') this.settle();
    this.emit('event', { at: Date.now(), ...event } satisfies SupervisorEvent);
  }

  /** Resolves once the tunnel's state is known (its first transition after start, or the start grace ran out). */
  tunnelKnown(): Promise<void> {
    return this.known;
  }

  private ref(group: { path: string }): { nftPath: string; level: number } {
    return { nftPath: nftCgroupPath(this.options.cgroupRoot, group.path), level: cgroupLevel(this.options.cgroupRoot, group.path) };
  }
}
