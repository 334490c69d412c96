import path from 'node:path';
import { TunnelMonitor } from '../monitor/index.js';
import { Cgroup } from '../../cgroups/index.js';
import type { RequestHandler, Session } from '../ipc/server.js';
import type { Registration, Request, StreamMessage } from '../ipc/protocol.js';
import { defaultAppName, findApp, freezeApp, killApp, SupervisorError, thawApp, uniqueName, type Supervisor } from '../supervisor/index.js';
import { authorize } from './authorize.js';
import { clearMarks, procCgroup, readStat, readStatus, release } from '../adopt/index.js';
import { protect } from './protect.js';
import { requireWatchedFor } from './tunnel-rights.js';
import { withinAppQuota } from './quota.js';
import type { Config } from '../config/index.js';
import { configUser, startConfigApp } from './start-app.js';

/** The app's tunnel as the new app meets it: known once that tunnel's first verdict is in (at most its start grace). */
async function tunnelFacts(sup: Supervisor, name: string): Promise<NonNullable<Registration['tunnel']>> {
  const first = sup.apps.get(name)?.tunnels[0] ?? sup.options.tunnelIface;
  await sup.tunnelKnown(first);
  const iface = sup.apps.get(name)?.rides ?? first;
  const t = sup.tunnels.get(iface) ?? { state: 'unknown' as const, reason: 'not watched' };
  if (t.state === 'up') return { interface: iface, state: 'up', reason: t.reason, exists: true, tunnelsHere: [] };
  // Only a user waiting for a tunnel needs to know what exists (a typo shows); an up tunnel costs no `ip` run.
  const names = await TunnelMonitor.interfaceNames();
  return { interface: iface, state: 'down', reason: t.reason, exists: names.includes(iface), tunnelsHere: names.filter((n) => /^(wg|tun|tap)/.test(n)) };
}

/** What the handler needs from the daemon around it. */
export interface HandlerContext {
  readonly sup: Supervisor;
  readonly cgroupRoot: string;
  /** The resolv.conf of the tunnel's resolvers as the config now says, or null when it names none. */
  readonly resolvConf: () => string | null;
  readonly runDir: string;
  /** The config in force (it changes on reload). */
  config(): Config;
  isStopping(): boolean;
  status(): Promise<unknown>;
  subscribe(send: (m: StreamMessage) => void, options: { status: boolean }): () => void;
}

/** Turns validated socket requests into supervisor actions, after checking who asks. */
export class DaemonHandler implements RequestHandler {
  constructor(private readonly ctx: HandlerContext) {}

  subscribe(send: (m: StreamMessage) => void, options: { status: boolean }): () => void {
    return this.ctx.subscribe(send, options);
  }

  async handle(request: Request, session: Session): Promise<unknown> {
    const { sup } = this.ctx;
    authorize(request, session.peer, this.ownerOf(request));
    switch (request.op) {
      case 'status':
        return this.ctx.status();
      case 'register':
        return withinAppQuota(sup, session.peer.uid, () => this.register(request, session));
      case 'freeze':
        return freezeApp(sup, request.name);
      case 'thaw':
        return thawApp(sup, request.name);
      case 'kill':
        return killApp(sup, request.name);
      case 'release':
        return this.release(request.name);
      case 'start':
        return this.start(request.name);
      case 'enter':
        return this.enter(request.name, request.pid, session);
      case 'protect':
        return withinAppQuota(sup, session.peer.uid, () => protect(sup, this.ctx.cgroupRoot, request, session.peer));
      default:
        throw new SupervisorError(`op ${request.op} is not served here`, { code: 'BAD_REQUEST', exitCode: 2 });
    }
  }

  /** Who may act on what a request names: the app's owner, or for `start` the user the config runs it as. */
  private ownerOf(request: Request): number | undefined {
    if (request.op === 'start') {
      const app = this.ctx.config().apps.find((a) => a.name === request.name);
      return app ? configUser(app)?.uid ?? 0 : 0;
    }
    return 'name' in request && request.name !== undefined ? this.ctx.sup.apps.get(request.name)?.uid : undefined;
  }

  /**
   * An unprivileged `ksapp run` started its app stopped: move it into the
   * app's group. Only the client's own stopped child, of the client's own
   * user, qualifies, so no one can pull another's process in (or out).
   */
  private async enter(name: string, pid: number, session: Session): Promise<{ pid: number }> {
    const app = findApp(this.ctx.sup, name);
    const [stat, status] = await Promise.all([readStat(pid), readStatus(pid)]);
    const owned = session.peer.uid === 0 || status?.uid === session.peer.uid;
    if (!stat || stat.ppid !== session.peer.pid || !owned || stat.state !== 'T') {
      throw new SupervisorError(`process ${pid} is not your own stopped child`, {
        code: 'NOT_AUTHORIZED', hint: '`enter` is for the launcher of `ksapp run` only',
      });
    }
    await app.cgroup.addPid(pid);
    return { pid };
  }

  /** `ksapp start NAME`: starts an app the config describes with a command. */
  private async start(name: string): Promise<{ name: string; cgroup: string }> {
    if (this.ctx.sup.apps.has(name)) {
      throw new SupervisorError(`${name} is already running under protection`, { code: 'APP_EXISTS', exitCode: 2, hint: 'see `ksapp status`' });
    }
    const app = this.ctx.config().apps.find((a) => a.name === name);
    if (!app) {
      const names = this.ctx.config().apps.map((a) => a.name);
      throw new SupervisorError(`the config has no app named "${name}"`, {
        code: 'APP_UNKNOWN', exitCode: 2, hint: names.length ? `config apps: ${names.join(', ')}` : 'add it under `apps:` in the config',
      });
    }
    const started = await startConfigApp(this.ctx.sup, app, this.ctx.runDir, this.ctx.resolvConf());
    return { name, cgroup: started.cgroup.path };
  }

  private async register(r: Extract<Request, { op: 'register' }>, session: Session): Promise<Registration> {
    const { sup } = this.ctx;
    if (this.ctx.isStopping()) {
      throw new SupervisorError('the daemon is leaving (nothing was protected)', { code: 'DAEMON_STOPPING', hint: 'try again: a new daemon starts' });
    }
    if (r.name !== undefined && sup.apps.has(r.name)) {
      throw new SupervisorError(`an app named "${r.name}" is already protected`, {
        code: 'APP_EXISTS', exitCode: 2, hint: 'choose another --name (without --name ksapp picks a free one)',
      });
    }
    const name = r.name ?? uniqueName(defaultAppName(r.command?.[0] ?? 'app'), (n) => sup.apps.has(n));
    // Where release puts its processes: the group its launcher came from (saved with the app, so a restart keeps it).
    const from = await procCgroup(session.peer.pid);
    requireWatchedFor(sup, r.tunnels, session.peer.uid);
    const app = await sup.addApp({
      name, onDrop: r.onDrop ?? 'freeze', allowLan: r.allowLan ?? false, restart: r.restart ?? false,
      uid: session.peer.uid === 0 ? r.uid ?? 0 : session.peer.uid, origin: 'run', ...(r.tunnels ? { tunnels: r.tunnels } : {}),
      ...(from ? { returnTo: path.join(this.ctx.cgroupRoot, from) } : {}),
    });
    // When the client goes, the app is the daemon's alone: removed once empty, watched until then.
    session.onClose(() => void this.finished(name).catch(() => undefined));
    return { name, cgroup: app.cgroup.path, parent: sup.parentPath, resolvConf: this.ctx.resolvConf(), tunnel: await tunnelFacts(sup, name) };
  }

  /** The client that started the app stopped driving it: remove it if empty, else watch it until it is. */
  private async finished(name: string): Promise<void> {
    const { sup } = this.ctx;
    const app = sup.apps.get(name);
    if (!app) return;
    const pids = await app.cgroup.allPids().catch(() => []);
    if (pids.length === 0) {
      await sup.removeApp(name);
    } else {
      sup.watchExit(app);
    }
  }

  /** Stops protecting an app: its processes go back where they came from, its group and rules go. */
  private async release(name: string): Promise<{ moved: number }> {
    const { sup } = this.ctx;
    const app = findApp(sup, name);
    const adoption = app.adoption;
    // Sockets marked at adoption leave with the app, or they would stay steered into the tunnel.
    await clearMarks(await app.cgroup.allPids().catch(() => []), sup.markOf(app));
    if (app.inPlace || adoption) {
      // A group protected in place stays as it was; adopted processes go back where they came from.
      sup.unwatch(name);
      await app.cgroup.thaw().catch(() => undefined);
      const report = adoption ? await release(adoption, { root: this.ctx.cgroupRoot }) : undefined;
      await sup.removeApp(name);
      return { moved: report ? report.returned.length + report.fallback.length : 0 };
    }
    const target = app.returnTo ?? this.ctx.cgroupRoot;
    let dest: Cgroup;
    try {
      dest = Cgroup.open(target);
    } catch {
      dest = Cgroup.open(this.ctx.cgroupRoot);
    }
    sup.unwatch(name);
    await app.cgroup.thaw().catch(() => undefined);
    const pids = await app.cgroup.allPids();
    for (const pid of pids) await dest.addPid(pid).catch(() => undefined);
    await sup.removeApp(name);
    return { moved: pids.length };
  }
}
