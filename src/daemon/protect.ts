import path from 'node:path';
import {
  closeOldSockets, describeLeftOut, findByExe, findByPid, moveInto, ownershipOf, readStat, readStatus, requirePidfd, resolveCgroupPath, unitCgroup,
  type Adoption, type Found, type LeftOut, type SocketReport,
} from '../adopt/index.js';
import { Cgroup } from '../../cgroups/index.js';
import { forgetFlows } from '../firewall/index.js';
import { localDnsBypasses } from '../launch/index.js';
import type { PeerCred } from '../ipc/peercred.js';
import { protectContainer, protectIface } from './protect-forwarded.js';
import { requireWatchedFor } from './tunnel-rights.js';
import type { Request } from '../ipc/protocol.js';
import { defaultAppName, SupervisorError, uniqueName, type App, type Supervisor } from '../supervisor/index.js';

/** What `ksapp protect` reports. */
export interface ProtectResult {
  readonly name: string;
  readonly cgroup: string;
  readonly moved: number;
  readonly gone: number;
  /** Processes a non-root caller's protect left where they were, because they are not the caller's (absent from older daemons). */
  readonly leftOut?: readonly LeftOut[];
  /** Why the app is not fully protected (frozen, needs a restart); empty when it is. */
  readonly unprotected: readonly string[];
  readonly listenersClosed: readonly string[];
  /** Sockets from before the adoption that now carry the app's firewall mark (protected, not destroyed). */
  readonly marked: readonly string[];
  /** Local resolvers whose lookups for the app leave outside the tunnel (it has no private mount namespace). */
  readonly dnsBypass: readonly string[];
  /** What was protected, when it is not processes: a container's or an interface's traffic. */
  readonly note?: string;
}

type ProtectRequest = Extract<Request, { op: 'protect' }>;

const tunnelsOf = (r: ProtectRequest): { tunnels?: string[] } => (r.tunnels ? { tunnels: r.tunnels } : {});

const uidOf = async (pid: number): Promise<number | undefined> => (await readStatus(pid))?.uid;

/**
 * A non-root user may protect only their own processes (real, effective and saved uid theirs): freezing
 * someone else's would stop it. This refuses early; the move itself checks every process again.
 */
async function requireOwned(pids: readonly number[], peer: PeerCred): Promise<void> {
  if (peer.uid === 0) return;
  for (const pid of pids) {
    const o = await ownershipOf(pid, peer.uid);
    if (o !== undefined && !o.owned) {
      throw new SupervisorError(`process ${pid} is not yours (${o.why}); you are uid ${peer.uid}`, {
        code: 'NOT_AUTHORIZED', hint: 'protect your own processes, or ask root (sudo ksapp protect …)',
      });
    }
  }
}

/**
 * `ksapp protect`: puts running processes, or a unit's or container's group in
 * place, under protection. Rules first, then the move, then the old sockets:
 * an app whose pre-adoption sockets cannot all be closed is frozen and marked
 * needs-restart, never reported protected.
 */
export async function protect(sup: Supervisor, root: string, r: ProtectRequest, peer: PeerCred): Promise<ProtectResult> {
  if (r.container !== undefined) {
    requireWatchedFor(sup, r.tunnels, peer.uid);
    return protectContainer(sup, root, r, peer, (abs, name) => protect(sup, root, { ...r, container: undefined, cgroup: abs, name }, peer));
  }
  if (r.iface !== undefined) {
    requireWatchedFor(sup, r.tunnels, peer.uid);
    return protectIface(sup, root, r, peer);
  }
  const taken = (n: string): boolean => sup.apps.has(n);
  const abs = r.unit !== undefined ? await unitCgroup(r.unit, { root }) : r.cgroup !== undefined ? resolveCgroupPath(r.cgroup, { root, ksappParent: sup.parentPath }) : undefined;
  const same = abs === undefined ? undefined : [...sup.apps.values()].find((a) => a.cgroup.path === abs);
  if (same && r.unit !== undefined && (r.name === undefined || r.name === same.name)) {
    // A unit restarted at once (its drop-in's ExecStartPre protects it at every start) has a new group at the
    // same path: reloading the rules binds them to it, with no moment unprotected.
    await sup.reloadRules();
    return { name: same.name, cgroup: same.cgroup.path, moved: 0, gone: 0, unprotected: [], listenersClosed: [], marked: [], dnsBypass: [] };
  }
  requireWatchedFor(sup, r.tunnels, peer.uid);
  if (r.name !== undefined && taken(r.name)) {
    throw new SupervisorError(`an app named "${r.name}" is already protected`, { code: 'APP_EXISTS', exitCode: 2, hint: 'choose another --name' });
  }
  if (abs !== undefined) {
    if (same) {
      throw new SupervisorError(`${abs} is already protected`, { code: 'APP_EXISTS', exitCode: 2, hint: 'see `ksapp status`' });
    }
    await requireOwned(await Cgroup.open(abs).allPids(), peer);
    const name = r.name ?? uniqueName(defaultAppName(path.basename(abs)), taken);
    const app = await sup.addApp({ name, onDrop: r.onDrop ?? 'freeze', allowLan: false, restart: false, uid: peer.uid, origin: 'adopted', inPlace: abs, ...tunnelsOf(r) });
    // Nothing moved, so the unit's own sockets are already its group's; only sockets handed in from outside
    // (systemd socket activation) are not, and destroying those would break the service: mark what takes a mark, report the rest.
    return finish(sup, app, { moved: 0, gone: 0, leftOut: [] }, await closeOldSockets(app.cgroup, { root, destroy: false, mark: sup.markOf(app) }));
  }
  // Refused before anything is created: without the addon a user's move could not be checked.
  if (peer.uid !== 0) requirePidfd();
  const found: Found = r.pid !== undefined ? await findByPid(r.pid, { exclude: await protectedPids(sup) }) : await findByExe(r.exe!, { exclude: await protectedPids(sup) });
  await requireOwned(found.roots, peer);
  const comm = (await readStat(found.roots[0]!))?.comm ?? 'app';
  const name = r.name ?? uniqueName(defaultAppName(comm), taken);
  const owner = peer.uid === 0 ? (await uidOf(found.roots[0]!)) ?? 0 : peer.uid;
  const app = await sup.addApp({ name, onDrop: r.onDrop ?? 'freeze', allowLan: false, restart: false, uid: owner, origin: 'adopted', ...tunnelsOf(r) });
  return adoptInto(sup, root, app, found.pids, true, '', peer.uid === 0 ? undefined : peer.uid);
}

/**
 * Moves processes into an app's group (created with its rules just before),
 * then deals with their old sockets. A new app that got nothing is removed.
 * With `owner` (a non-root caller) only that user's processes are moved.
 */
export async function adoptInto(sup: Supervisor, root: string, app: App, pids: readonly number[], fresh: boolean, note = '', owner?: number, stagedFrom?: string): Promise<ProtectResult> {
  let adoption: Adoption;
  try {
    adoption = await moveInto(app.cgroup, pids, { root, owner });
  } catch (error) {
    if (fresh) await sup.removeApp(app.name).catch(() => undefined);
    throw error;
  }
  const leftOut = adoption.leftOut ?? [];
  if (adoption.moved.length === 0 && fresh) {
    await sup.removeApp(app.name).catch(() => undefined);
    if (leftOut.length > 0) {
      throw new SupervisorError(`none of the processes that are still running is yours: ${describeLeftOut(leftOut)}`, {
        code: 'NOT_AUTHORIZED', hint: 'protect your own processes, or ask root (sudo ksapp protect …)',
      });
    }
    throw new SupervisorError('every process exited before it could be adopted', { code: 'ADOPT_ALL_GONE', exitCode: 1, hint: 'nothing to protect: start the app through `ksapp run`' });
  }
  // Saved for release, which needs only what moved: what was left out stays out of state.json.
  // A process the exec guard staged goes back, on release, where it was before staging.
  const moved = stagedFrom === undefined ? adoption.moved : adoption.moved.map((m) => ({ ...m, from: stagedFrom }));
  await sup.dispatch({ type: 'adopted', name: app.name, adoption: { group: adoption.group, moved, gone: adoption.gone } });
  const sockets = await closeOldSockets(app.cgroup, { root, graceMs: 1000, mark: sup.markOf(app) });
  return finish(sup, app, { moved: adoption.moved.length, gone: adoption.gone.length, leftOut }, sockets, note);
}

type Counts = { readonly moved: number; readonly gone: number; readonly leftOut: readonly LeftOut[] };

/** The event log's words for processes left out, '' when none were. */
const leftOutNote = (leftOut: readonly LeftOut[]): string =>
  leftOut.length === 0 ? '' : `; left out, not the caller's: ${describeLeftOut(leftOut)}`;

async function finish(sup: Supervisor, app: App, counts: Counts, sockets: Awaited<ReturnType<typeof closeOldSockets>>, note = ''): Promise<ProtectResult> {
  const { moved, gone, leftOut } = counts;
  await forgetFlows(sockets.sockets);
  const describe = (s: SocketReport): string => `${s.kind} ${s.local ?? `inode ${s.inode}`}${s.peer ? ` → ${s.peer}` : ''}`;
  const unprotected = sockets.unprotected.map((s) => `${describe(s)}: ${s.reason}`);
  if (unprotected.length > 0) {
    await sup.dispatch({ type: 'unsafe-sockets', name: app.name, detail: `${unprotected.length} socket(s) from before the adoption are outside protection; frozen until restarted${leftOutNote(leftOut)}` });
  } else {
    sup.record({ type: 'app-adopted', app: app.name, detail: `${moved} process(es)${app.inPlace ? `, in place at ${app.inPlace}` : ''}${note}${leftOutNote(leftOut)}` });
  }
  const dnsBypass = localDnsBypasses();
  if (dnsBypass.length > 0) sup.record({ type: 'dns-bypass', app: app.name, detail: `lookups through ${dnsBypass.join(' and ')} leave outside the tunnel (start it with sudo ksapp run to close this)` });
  sup.watchExit(app);
  return {
    name: app.name, cgroup: app.cgroup.path, moved, gone, leftOut, unprotected,
    listenersClosed: sockets.listenersClosed.map((s) => `${s.kind} ${s.local ?? s.inode}`), dnsBypass,
    marked: sockets.sockets.filter((s) => s.outcome === 'marked').map(describe),
  };
}

/** Every pid already in a protected group: never adopted twice. */
export async function protectedPids(sup: Supervisor): Promise<number[]> {
  const lists = await Promise.all([...sup.apps.values()].map((a) => a.cgroup.allPids().catch(() => [])));
  return lists.flat();
}
