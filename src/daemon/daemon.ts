import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { cgroupRoot } from '../../cgroups/index.js';
import { requireInterfaceName } from '../commands/tunnel-check.js';
import { splitAllow } from '../config/allow.js';
import { AllowNameWatch, configNames } from './allow-names.js';
import { ContainerAdopter } from './container-adopt.js';
import { applyGateways } from './gateways.js';
import { splitFamilies } from '../config/index.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_HOLD_DOWN_MS, DEFAULT_MAX_HOLD_DOWN_MS, type Config, type TunnelConfig } from '../config/index.js';
import { IpcServer } from '../ipc/server.js';
import type { Status } from '../ipc/protocol.js';
import { StatusStream } from './stream.js';
import { StatusCache } from './status-cache.js';
import { configFileOf, loadDaemonConfig, settingsNeedingRestart, writeResolvConf } from './daemon-config.js';
import { DaemonClient } from '../ipc/client.js';
import { answers, prepareSocketPath } from '../ipc/socket-path.js';
import { checkSocketDir, ensureOwnDir } from '../ipc/safe-files.js';
import { detectTunnel, TunnelMonitor } from '../monitor/index.js';
import { saveApp, Supervisor, type App, type SupervisorEvent } from '../supervisor/index.js';
import { watchConfig } from './config-watch.js';
import { saveLastGood } from './last-good.js';
import { EventLog } from './event-log.js';
import { DaemonHandler } from './handler.js';
import { readState, writeState } from './state-store.js';
import { collectStatus } from './collect.js';
import { acquireLock, acquireNetnsLock, acquireParentLock, sweepStaleLocks } from './lock.js';
import { AutoAdopter } from './auto-adopt.js';
import { appParent } from './systemd.js';
import { configUser, launchDetached } from './start-app.js';
import { Reconnector } from './reconnect.js';
import { HookRunner, readyHooks } from './hooks.js';

/** How a daemon is started. */
export interface DaemonOptions {
  readonly socketPath: string;
  /** Explicit config file; otherwise the default file when it exists, else built-in defaults. */
  readonly configFile: string | undefined;
  /** Overrides of the config, from `ksapp run` starting the daemon. */
  readonly tunnel?: string;
  readonly dns?: readonly string[];
  /** Exit once no app is protected and no client is connected (daemons started by `ksapp run`). */
  readonly exitWhenIdle: boolean;
  /** JSON-lines event log file, or null. */
  readonly eventLogFile: string | null;
}

/** The root daemon: one supervisor, its socket, its config and its saved state. */
export class Daemon {
  readonly runDir: string;
  private sup!: Supervisor;
  /** Every tunnel's monitor, the primary's too, by interface. */
  private readonly monitors = new Map<string, TunnelMonitor>();
  private server!: IpcServer;
  private config!: Config;
  private configError: string | null = null;
  private readonly log: EventLog;
  private readonly stream = new StatusStream(() => this.status(), () => this.checkIdle());
  // Concurrent and back-to-back status requests share one build (one `nft` run), keyed by the newest event.
  private readonly statusCache = new StatusCache(() => collectStatus(this.sup, this.monitors, this.iface, this.log, {
    daemon: { pid: process.pid, startedAt: this.startedAt, socket: this.opts.socketPath },
    config: { file: this.opts.configFile ?? null, error: this.configError },
    rules: this.adopter?.ruleGuards() ?? [],
  }));
  private stopWatching: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private readonly startedAt = new Date().toISOString();
  private iface = '';
  private resolvConf: string | null = null;
  private releaseLock: (() => Promise<void>) | undefined;
  private adopter: AutoAdopter | undefined;
  private reconnector: Reconnector | undefined;
  private names: AllowNameWatch | undefined;
  private containers: ContainerAdopter | undefined;
  private hooks: HookRunner | undefined;
  private saving: Promise<void> | undefined;
  private saveAgain = false;

  constructor(private readonly opts: DaemonOptions) {
    this.runDir = `${opts.socketPath}.d`;
    this.log = new EventLog(opts.eventLogFile);
    let resolve!: () => void;
    this.stopped = new Promise<void>((r) => { resolve = r; });
    this.resolveStopped = resolve;
  }

  /** True once stop() has begun: new apps are refused so none is left behind by a leaving daemon. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Resolves when the daemon has stopped. */
  readonly stopped: Promise<void>;
  private readonly resolveStopped: () => void;

  /** Loads the config, takes back what a previous daemon left, and starts serving. */
  async start(): Promise<void> {
    // Before anything is read from or written next to the socket: nobody else may change that directory.
    await mkdir(path.dirname(this.opts.socketPath), { recursive: true, mode: 0o755 });
    await checkSocketDir(path.dirname(this.opts.socketPath));
    if (await answers(this.opts.socketPath)) await prepareSocketPath(this.opts.socketPath, () => livePid(this.opts.socketPath));
    // The lock outlives a leaving daemon's teardown, so a new one never starts while the old one still removes its table.
    this.releaseLock = await acquireLock(`${this.opts.socketPath}.lock`);
    await prepareSocketPath(this.opts.socketPath, () => livePid(this.opts.socketPath));
    const loaded = await loadDaemonConfig(configFileOf(this.opts.configFile));
    this.config = loaded.config;
    this.configError = loaded.fallback ?? null;
    this.iface = this.opts.tunnel ?? this.config.tunnel.interface ?? (await detectTunnel());
    // A tunnel that does not exist yet is waited for (apps stay frozen meanwhile): at boot the VPN comes later.
    requireInterfaceName(this.iface);
    await ensureOwnDir(this.runDir);
    this.resolvConf = await writeResolvConf(this.runDir, this.dnsServers());
    const root = await cgroupRoot();
    const primary = this.monitorFor(this.iface, this.config.tunnel);
    const more = this.config.tunnels.slice(1).filter((t) => t.interface !== undefined && t.interface !== this.iface).map((t) => ({
      iface: t.interface!, monitor: this.monitorFor(t.interface!, t), ...(t.via ? { via: t.via } : {}), ...(t.dns?.length ? { dns: splitFamilies(t.dns) } : {}),
    }));
    const cgroupParent = await appParent(root, this.config.cgroupParent);
    // Locks of daemons killed without their teardown would otherwise pile up in /run/ksapp.
    await sweepStaleLocks();
    const netnsLock = await acquireNetnsLock();
    const parentLock = await acquireParentLock(cgroupParent);
    const releaseSocketLock = this.releaseLock;
    this.releaseLock = async () => {
      await parentLock();
      await netnsLock();
      await releaseSocketLock?.();
    };
    this.sup = new Supervisor({
      tunnelIface: this.iface, cgroupRoot: root, cgroupParent,
      dns: splitFamilies(this.dnsServers()), lan: splitFamilies(this.config.lan.ranges), allow: splitAllow(this.config.allow), monitor: primary, moreTunnels: more,
      // A tunnel an app names that the config does not list is watched with the default settings.
      watchTunnel: (iface) => this.monitorFor(iface, { handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT_MS, holdDown: DEFAULT_HOLD_DOWN_MS, maxHoldDown: DEFAULT_MAX_HOLD_DOWN_MS }),
      restart: (app) => this.restartConfigApp(app),
    });
    this.reconnector = new Reconnector(new Map(this.config.tunnels.flatMap((t) => {
      const iface = t === this.config.tunnel ? this.iface : t.interface;
      return t.reconnect && iface !== undefined ? [[iface, t.reconnect] as const] : [];
    })), (e) => this.sup.record(e));
    this.sup.on('event', (e: SupervisorEvent) => this.onEvent(e));
    this.armHooks();
    if (this.configError) this.sup.record({ type: 'config-error', detail: this.configError });
    const { state: saved, dropped } = await readState(this.stateFile, { cgroupRoot: root, parentPath: this.sup.parentPath });
    for (const reason of dropped) this.sup.record({ type: 'state-dropped', detail: `${this.stateFile}: ${reason} (ignored; live groups are kept under freeze)` });
    const savedApps = saved?.cgroupParent === this.config.cgroupParent ? saved.apps : [];
    // Each app comes back with its adoption and where release puts it: one registry, saved whole.
    await this.sup.start(savedApps);
    const handler = new DaemonHandler({
      sup: this.sup, cgroupRoot: root, resolvConf: () => this.resolvConf, runDir: this.runDir, config: () => this.config, isStopping: () => this.isStopping,
      status: () => this.status(), subscribe: (send, options) => this.stream.subscribe(send, options),
    });
    // Guard and rules before the socket answers: whoever waits for the daemon (a Type=forking unit,
    // `ksapp daemon`) then knows configured apps are confined from their first instruction.
    this.names = new AllowNameWatch((name, answer, at) => this.sup.dispatch({ type: 'resolved', name, answer, at }), (e) => this.sup.record(e));
    this.names.watch(configNames(this.config));
    this.adopter = new AutoAdopter(this.sup, root);
    await this.adopter.armGuard();
    await this.adopter.sync(this.config.apps);
    this.containers = new ContainerAdopter(this.sup, root);
    await this.containers.sync(this.config.apps);
    await applyGateways(this.sup, root, this.config.gateway, (detail) => this.sup.record({ type: 'config-error', detail }));
    this.server = new IpcServer(this.opts.socketPath, handler);
    await this.server.listen();
    const configFile = configFileOf(this.opts.configFile);
    if (configFile) this.watch(configFile);
    await this.save();
    this.checkIdle();
  }

  /** Stops serving. Apps still protected keep their rules in the kernel; with none left, everything is removed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.idleTimer);
      this.stopWatching?.();
      this.adopter?.stop();
      this.containers?.stop();
      await this.server?.close().catch(() => undefined);
      this.reconnector?.stop();
      this.names?.stop();
      await this.hooks?.stop();
      await this.sup?.stop();
      if (this.sup && this.sup.apps.size === 0) await rm(this.runDir, { recursive: true, force: true });
      else await this.save();
      await rm(this.opts.socketPath, { force: true });
      await this.log.flush();
      await this.releaseLock?.();
      this.resolveStopped();
    })();
    return this.stopping;
  }

  /** The current status, as `ksapp status --json` prints it. */
  status(): Promise<Status> {
    return this.statusCache.get(this.log.latest(1)[0]);
  }

  /** (Re)arms the config's hooks; one that cannot run is a config error naming its field, the others run. */
  private armHooks(): void {
    void this.hooks?.stop();
    const { ready, problems } = readyHooks(this.config.hooks);
    for (const problem of problems) this.sup.record({ type: 'config-error', detail: problem });
    this.hooks = ready.length ? new HookRunner(ready, (e) => this.sup.record(e), () => this.sup.idle()) : undefined;
  }

  /** A tunnel's monitor from its settings, kept for status. */
  private monitorFor(iface: string, t: Pick<TunnelConfig, 'handshakeTimeout' | 'holdDown' | 'maxHoldDown' | 'probe'>): TunnelMonitor {
    const probe = t.probe;
    const monitor = new TunnelMonitor({
      iface, handshakeTimeoutMs: t.handshakeTimeout, holdMs: t.holdDown, maxHoldMs: t.maxHoldDown,
      probe: probe && { address: probe.address, intervalMs: probe.interval, failures: probe.failures },
    });
    this.monitors.set(iface, monitor);
    return monitor;
  }

  /** Config apps the kill switch killed come back with their command when the tunnel does (`ksapp run` apps are restarted by their client). */
  private async restartConfigApp(app: App): Promise<void> {
    const configured = this.config.apps.find((a) => a.name === app.name);
    if (app.origin !== 'config' || !configured?.command?.length) return;
    await launchDetached(this.sup, app, configured.command, configUser(configured), this.runDir, this.resolvConf);
  }

  private get stateFile(): string {
    return path.join(this.runDir, 'state.json');
  }

  private dnsServers(): string[] {
    return this.opts.dns?.length ? [...this.opts.dns] : this.config.dns.servers;
  }

  private watch(file: string): void {
    this.stopWatching = watchConfig(file, (result) => {
      if (result instanceof Error) {
        this.configError = result.message;
        this.sup.record({ type: 'config-error', detail: result.message });
        return;
      }
      this.configError = null;
      void saveLastGood(file, result.text).catch(() => undefined);
      const pending = settingsNeedingRestart(this.config, result.config, { inUse: this.iface, fromFlag: this.opts.tunnel !== undefined });
      this.config = result.config;
      void this.applyConfig().then(() => this.sup.record({
        type: 'config-reloaded', detail: pending.length ? `${file} (${pending.join(', ')} take effect at the next daemon start)` : file,
      }), (error: Error) => this.sup.record({ type: 'config-error', detail: error.message }));
    });
  }

  /** Applies a reloaded config's DNS and LAN settings in one firewall transaction. */
  private async applyConfig(): Promise<void> {
    this.resolvConf = await writeResolvConf(this.runDir, this.dnsServers());
    await this.sup.reconfigure({ dns: splitFamilies(this.dnsServers()), lan: splitFamilies(this.config.lan.ranges), allow: splitAllow(this.config.allow) });
    // A running config app takes its entry's new allowlist (its other settings apply when it next starts).
    for (const app of this.config.apps) {
      const running = this.sup.apps.get(app.name);
      if (running?.origin === 'config') await this.sup.dispatch({ type: 'app-allow', name: app.name, allow: splitAllow(app.allow ?? []) });
    }
    this.names?.watch(configNames(this.config));
    await this.adopter?.sync(this.config.apps);
    await this.containers?.sync(this.config.apps);
    await applyGateways(this.sup, this.sup.options.cgroupRoot, this.config.gateway, (detail) => this.sup.record({ type: 'config-error', detail }));
    this.armHooks();
  }

  private onEvent(e: SupervisorEvent): void {
    this.reconnector?.heard(e);
    const record = this.log.add(e);
    this.stream.event(record);
    this.hooks?.heard(record);
    void this.save();
    this.checkIdle();
  }

  /**
   * Writes the state; saves asked for while one is on disk's way are folded
   * into one more, so a burst of events never races two writers and the last
   * write is always the newest state.
   */
  private save(): Promise<void> {
    if (this.saving) {
      this.saveAgain = true;
      return this.saving;
    }
    this.saving = (async () => {
      do {
        this.saveAgain = false;
        if (!this.sup || (this.stopping && this.sup.apps.size === 0)) break;
        await writeState(this.stateFile, {
          version: 1, cgroupParent: this.config.cgroupParent,
          apps: [...this.sup.apps.values()].map((a) => saveApp(a, this.iface)),
        }).catch(() => undefined);
      } while (this.saveAgain);
      this.saving = undefined; // in the same tick as the last check, so no request falls between
    })();
    return this.saving;
  }

  /** A daemon started by `ksapp run` leaves once nothing is protected and no connection is in use (idle ones do not hold it). */
  private checkIdle(): void {
    if (!this.opts.exitWhenIdle || !this.server) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.sup.apps.size === 0 && this.server.activeConnections === 0) void this.stop();
      else this.checkIdle();
    }, 500);
  }
}

async function livePid(socketPath: string): Promise<number | undefined> {
  const client = await DaemonClient.connect(socketPath);
  try {
    const status = await client.request<{ daemon: { pid: number } }>({ op: 'status' });
    return status.daemon.pid;
  } finally {
    client.close();
  }
}
