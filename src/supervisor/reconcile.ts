import { Cgroup } from '../../cgroups/index.js';
import type { Adoption } from '../adopt/move.js';
import { allowEntries, isEmptyAllow, splitAllow } from '../config/allow.js';
import { nextAppId, type App } from './app.js';
import type { DropPolicy } from './types.js';

/** What the daemon remembers of an app across restarts. */
export interface SavedApp {
  readonly name: string;
  readonly id: number;
  readonly onDrop: DropPolicy;
  readonly allowLan: boolean;
  readonly restart: boolean;
  readonly uid: number;
  readonly origin: App['origin'];
  readonly addedAt: number;
  readonly manualFreeze: boolean;
  /** Set for a group protected in place: its absolute path. */
  readonly inPlace?: string;
  /** An adopted app whose old sockets could not be closed. */
  readonly needsRestart?: boolean;
  /** Where its adopted processes came from (release puts them back). */
  readonly adoption?: Adoption;
  /** A `ksapp run` app: where release puts its processes. */
  readonly returnTo?: string;
  /** Its tunnels in failover order, and the one it rode (absent: the primary). */
  readonly tunnels?: readonly string[];
  readonly rides?: string;
  readonly failback?: boolean;
  /** Its own allowlist's entries (config `apps[].allow`), as written. */
  readonly allow?: readonly string[];
  /** Traffic routed for it, and the container it is. */
  readonly forwarded?: App['forwarded'];
  readonly container?: App['container'];
}

/** The live view of one group found under the parent. */
export interface FoundGroup {
  readonly cgroup: Cgroup;
  readonly populated: boolean;
  readonly frozen: boolean;
}

/**
 * Decides, from the groups the kernel still holds and what was saved, which
 * apps to take back and which groups to remove (pure). A live group nobody
 * remembers is kept under the strictest default, never released.
 */
export function reconcile(found: readonly FoundGroup[], saved: readonly SavedApp[], primary: string): { keep: App[]; remove: Cgroup[] } {
  const keep: App[] = [];
  const remove: Cgroup[] = [];
  const byName = new Map(saved.filter((s) => !s.inPlace).map((s) => [s.name, s]));
  const name = (g: FoundGroup): string => g.cgroup.path.split('/').pop() ?? '';
  const taken = new Set<number>();
  for (const group of found) {
    const s = byName.get(name(group));
    // An empty group is a leftover, unless it stands for traffic routed for others (an interface's, LAN hosts').
    if (!group.populated && !s?.forwarded?.length) {
      remove.push(group.cgroup);
      continue;
    }
    const id = s && !taken.has(s.id) ? s.id : nextAppId([...taken, ...saved.map((x) => x.id)]);
    taken.add(id);
    keep.push({
      name: name(group), id, cgroup: group.cgroup,
      onDrop: s?.onDrop ?? 'freeze', allowLan: s?.allowLan ?? false, restart: s?.restart ?? false,
      uid: s?.uid ?? 0, origin: s?.origin ?? 'run', addedAt: s?.addedAt ?? Date.now(),
      manualFreeze: group.frozen && (s?.manualFreeze ?? false),
      state: group.frozen ? (s?.needsRestart ? 'needs-restart' : 'frozen') : 'running', blocked: false,
      ...tunnelsOf(s, primary),
      ...(s?.adoption ? { adoption: s.adoption } : {}), ...(s?.returnTo ? { returnTo: s.returnTo } : {}), ...allowOf(s),
      ...(s?.forwarded?.length ? { forwarded: s.forwarded } : {}),
    });
  }
  return { keep, remove };
}

/** An app's tunnels as saved, the primary alone when none were (pure). */
function tunnelsOf(s: SavedApp | undefined, primary: string): Pick<App, 'tunnels' | 'rides' | 'failback'> {
  const tunnels = s?.tunnels?.length ? s.tunnels : [primary];
  const rides = s?.rides !== undefined && tunnels.includes(s.rides) ? s.rides : tunnels[0]!;
  return { tunnels, rides, failback: s?.failback ?? true };
}

/** An app's saved allowlist, split again (pure). */
function allowOf(s: SavedApp | undefined): Pick<App, 'allow'> {
  return s?.allow?.length ? { allow: splitAllow(s.allow) } : {};
}

/** What to save of an app (pure); an app on the primary alone saves no tunnel fields. */
export function saveApp(app: App, primary: string): SavedApp {
  const onPrimaryAlone = app.tunnels.length === 1 && app.tunnels[0] === primary && app.rides === primary && app.failback;
  return {
    name: app.name, id: app.id, onDrop: app.onDrop, allowLan: app.allowLan, restart: app.restart,
    uid: app.uid, origin: app.origin, addedAt: app.addedAt, manualFreeze: app.manualFreeze,
    ...(app.inPlace ? { inPlace: app.inPlace } : {}), ...(app.state === 'needs-restart' ? { needsRestart: true } : {}),
    ...(app.adoption ? { adoption: app.adoption } : {}), ...(app.returnTo ? { returnTo: app.returnTo } : {}),
    ...(onPrimaryAlone ? {} : { tunnels: app.tunnels, rides: app.rides, failback: app.failback }),
    ...(isEmptyAllow(app.allow) ? {} : { allow: allowEntries(app.allow) }),
    ...(app.forwarded?.length ? { forwarded: app.forwarded } : {}), ...(app.container ? { container: app.container } : {}),
  };
}

/**
 * What a new supervisor takes back: the live groups under the parent (but
 * the `skip` group), matched with what was saved, and the groups protected
 * in place that still exist; empty leftovers are for removal.
 */
export async function recoverApps(parent: Cgroup, saved: readonly SavedApp[], skip: string, primary: string): Promise<{ keep: App[]; remove: Cgroup[] }> {
  const groups = (await parent.children()).filter((c) => c.path.split('/').pop() !== skip);
  const found = await Promise.all(groups.map(async (cgroup) => ({ cgroup, ...(await cgroup.events()) })));
  const { keep, remove } = reconcile(found, saved, primary);
  return { keep: [...keep, ...(await inPlaceSurvivors(saved, primary))], remove };
}

/** Groups protected in place that still exist (a unit between its ExecStartPre and its main process may be empty): taken back as they were saved. */
export async function inPlaceSurvivors(saved: readonly SavedApp[], primary: string): Promise<App[]> {
  const apps: App[] = [];
  for (const s of saved) {
    if (!s.inPlace) continue;
    try {
      const cgroup = Cgroup.open(s.inPlace);
      const events = await cgroup.events();
      const { allow: _entries, ...rest } = s;
      apps.push({
        ...rest, ...tunnelsOf(s, primary), ...allowOf(s), inPlace: s.inPlace, cgroup, blocked: false,
        state: events.frozen ? (s.needsRestart ? 'needs-restart' : 'frozen') : 'running',
      });
    } catch {
      // the unit or container is gone: nothing to take back
    }
  }
  return apps;
}
