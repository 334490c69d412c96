import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Cgroup, cgroupLevel, nftCgroupPath } from '../../cgroups/index.js';
import {
  appCounters, checkCgroupMatchSupport, ensureRouting, FORMAT_MARKER, readTable, removeRouting, removeTable,
} from '../firewall/index.js';
import { checkAppName } from '../app-name.js';
import { nextAppId, type App, type AppOptions } from './app.js';
import { recoverApps, type SavedApp } from './reconcile.js';
import { SupervisorError } from './errors.js';
import type { Effects } from './execute.js';
import { kernelEffects, policyFor } from './kernel-effects.js';
import { ExitWatchers, stillHolds } from './exit-watch.js';
import { StateLoop } from './loop.js';
import type { SupervisorEvent, TunnelWatch } from './types.js';
import type { Families, Input, TunnelView, World } from './world.js';

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
  readonly dns: Families;
  readonly lan: Families;
  /** The tunnel monitor; transitions drive the apps' policies. */
  readonly monitor: TunnelWatch;
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
  private startGrace: NodeJS.Timeout | undefined;
  private settle!: () => void;
  private readonly known = new Promise<void>((resolve) => { this.settle = resolve; });

  constructor(readonly options: SupervisorOptions) {
    super();
    this.parentPath = path.join(options.cgroupRoot, options.cgroupParent);
    this.loop = new StateLoop({
      tunnelIface: options.tunnelIface, tunnel: { state: 'unknown', since: Date.now(), reason: 'starting' },
      apps: new Map(), dns: options.dns, lan: options.lan,
    }, (world) => this.effects(world), stillHolds);
  }

  /** The protected apps, by name (read-only: only the loop changes them). */
  get apps(): ReadonlyMap<string, App> {
    return this.loop.current.apps;
  }

  /** What the supervisor believes about the tunnel. */
  get tunnel(): TunnelView {
    return this.loop.current.tunnel;
  }

  /**
   * Takes one input through the loop (see StateLoop). A refusal or a failed
   * action is the returned promise's error.
   */
  dispatch(input: Input): Promise<void> {
    return this.loop.dispatch(input);
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
      ({ keep, remove } = await recoverApps(parent, saved, STAGING_GROUP));
      // Rules before routing: a refused table leaves no ip rule behind, and marked packets without
      // the rule still meet the egress check.
      await this.dispatch({ type: 'recovered', apps: keep });
      await ensureRouting(null);
      this.options.monitor.on('transition', (transition) => this.heard({ type: 'tunnel', transition }));
      this.options.monitor.on('route', (change) => this.heard({ type: 'route', change }));
      // Heard by status, the dashboard and the log: why the tunnel is down in better words, and a source's trouble.
      this.options.monitor.on('reason', (t) => this.heard({ type: 'tunnel-reason', reason: t.reason }));
      this.options.monitor.on('warning', (e) => this.record({ type: 'monitor-warning', detail: e instanceof Error ? e.message : String(e) }));
      // After the apps are back, so the first transition acts on them too.
      await this.options.monitor.start();
    } catch (error) {
      await this.undoStart(existed, keep.length > 0);
      throw error;
    }
    for (const group of remove) await group.remove().catch((e: unknown) => this.record({ type: 'error', detail: String(e) }));
    for (const app of keep) this.watchExit(app);
    // A tunnel already dead at start never produces a transition: give the sources a moment, then act on the belief.
    this.startGrace = setTimeout(() => this.heard({
      type: 'start-grace', monitorDown: this.options.monitor.state === 'down', why: this.options.monitor.reasonNow?.(), at: Date.now(),
    }), START_GRACE_MS);
  }

  /**
   * A refused start (a foreign table, no cgroup match, a bad tunnel or probe)
   * leaves nothing of its own behind — but rules that confine apps a previous
   * daemon left stay, and so does a parent that existed before.
   */
  private async undoStart(parentExisted: boolean, appsAlive: boolean): Promise<void> {
    await Promise.resolve(this.options.monitor.stop()).catch(() => undefined);
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
    // A new group, never an existing one: the clean-up below then removes only what this call made.
    const cgroup = options.inPlace ? Cgroup.open(options.inPlace) : await this.parent.makeChild(options.name);
    const app: App = {
      ...options, id: nextAppId([...this.apps.values()].map((a) => a.id)), cgroup,
      state: 'running', blocked: false, manualFreeze: false, addedAt: Date.now(),
    };
    try {
      await this.dispatch({ type: 'add', app, empty: !options.inPlace });
    } catch (error) {
      // The rules never took it: gone again, and so is a group this call made.
      await this.dispatch({ type: 'remove', name: app.name }).catch(() => undefined);
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
  reconfigure(settings: { dns: Families; lan: Families }): Promise<void> {
    return this.dispatch({ type: 'settings', ...settings });
  }

  /** Re-applies the firewall from the current apps and tunnel (one transaction), e.g. for a unit's new group at the same path. */
  reloadRules(): Promise<void> {
    return this.dispatch({ type: 'settings' });
  }

  /** The kernel side of the loop's actions, for the world a step produced. */
  private effects(world: World): Effects {
    return kernelEffects(world, {
      policy: (w) => policyFor(w, this.options.cgroupRoot, this.parent.path),
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
    clearTimeout(this.startGrace);
    await this.options.monitor.stop();
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
    if (event.type === 'tunnel-up' || event.type === 'tunnel-down') this.settle();
    this.emit('event', { at: Date.now(), ...event } satisfies SupervisorEvent);
  }

  /** Resolves once the tunnel's state is known (its first transition after start, or the start grace ran out). */
  tunnelKnown(): Promise<void> {
    return this.known;
  }
}
