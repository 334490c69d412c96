// state.json is read back by root, and what it names is acted on (groups taken back, processes moved on
// release, owners allowed to kill). It is checked as if a user had sent it: an entry that does not hold
// up is dropped and named, and a dropped app's live group is still kept by the strictest default.
import path from 'node:path/posix';
import { isBelowPath as isBelow } from '../../cgroups/index.js';
import { appNameProblem } from '../app-name.js';
import { isAllowEntry } from '../config/allow.js';
import { ifaceNameProblem } from '../iface-name.js';
import type { SavedDaemonApp, SavedState } from './state-store.js';

/** Where saved paths may point. */
export interface StateBounds {
  /** The cgroup2 mount: every saved group lies strictly below it. */
  readonly cgroupRoot: string;
  /** ksapp's parent group: an adoption's group is the app's group right below it. */
  readonly parentPath: string;
}

const POLICIES = new Set(['freeze', 'kill', 'block']);
const ORIGINS = new Set(['run', 'adopted', 'config']);
const isUint = (v: unknown, max = 2 ** 32 - 1): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A group path relative to the mount as /proc/PID/cgroup writes it (`/user.slice/…`), normalised (pure). */
function isRelativeGroup(p: unknown): p is string {
  return typeof p === 'string' && p.startsWith('/') && path.normalize(p) === p && p.length <= 4096 && !p.includes('\n');
}

function adoptionProblem(a: unknown, group: string): string | undefined {
  if (!isRecord(a)) return 'adoption is not an object';
  if (a.group !== group) return `adoption names group ${JSON.stringify(a.group)}, not the app's ${group}`;
  if (!Array.isArray(a.moved) || !a.moved.every((m) => isRecord(m) && isUint(m.pid) && (m.pid as number) > 1 && isRelativeGroup(m.from))) return 'adoption lists a bad moved process';
  if (!Array.isArray(a.gone) || !a.gone.every((g) => isUint(g))) return 'adoption lists a bad gone pid';
  return undefined;
}

/** Why an app's saved tunnels cannot be trusted (a list of distinct interface names holding the one it rode). */
function tunnelsProblem(a: Record<string, unknown>): string | undefined {
  if (a.tunnels === undefined && a.rides === undefined && a.failback === undefined) return undefined;
  const list = a.tunnels;
  if (!Array.isArray(list) || list.length === 0 || list.some((t) => typeof t !== 'string' || ifaceNameProblem(t) !== undefined)) return 'tunnels is not a list of interface names';
  if (new Set(list).size !== list.length) return 'tunnels names an interface twice';
  if (typeof a.rides !== 'string' || !list.includes(a.rides)) return 'rides is not one of its tunnels';
  if (typeof a.failback !== 'boolean') return 'failback is not a boolean';
  return undefined;
}

/** Why saved forwarded sources cannot be trusted: each an interface name with address ranges and MACs. */
function forwardedProblem(list: unknown): string | undefined {
  if (list === undefined) return undefined;
  const ranges = (v: unknown): boolean => Array.isArray(v) && v.every((e) => typeof e === 'string' && isAllowEntry(e) && /^[0-9a-fA-F.:/]+$/.test(e));
  const macs = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((m) => typeof m === 'string' && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m)));
  const ok = Array.isArray(list) && list.length <= 64 && list.every((f) => isRecord(f) && typeof f.iface === 'string' && ifaceNameProblem(f.iface) === undefined
    && ranges(f.v4) && ranges(f.v6) && macs(f.macs));
  return ok ? undefined : 'forwarded is not a list of interfaces with address ranges and MACs';
}

/** More entries than any config would hold for one app. */
const MAX_ALLOW = 1024;

/** Why one saved app cannot be trusted, or undefined (pure). */
export function savedAppProblem(a: unknown, bounds: StateBounds): string | undefined {
  if (!isRecord(a)) return 'not an object';
  const name = appNameProblem(a.name);
  if (name) return `name ${name}`;
  if (!isUint(a.id, 0xfff) || a.id === 0) return 'id is not 1-4095';
  const tunnels = tunnelsProblem(a);
  if (tunnels) return tunnels;
  if (!POLICIES.has(a.onDrop as string)) return 'onDrop is not freeze, kill or block';
  if (typeof a.allowLan !== 'boolean' || typeof a.restart !== 'boolean' || typeof a.manualFreeze !== 'boolean') return 'a flag is not a boolean';
  if (!isUint(a.uid)) return 'uid is not a user id';
  if (!ORIGINS.has(a.origin as string)) return 'origin is not run, adopted or config';
  if (typeof a.addedAt !== 'number' || !Number.isFinite(a.addedAt)) return 'addedAt is not a time';
  if (a.needsRestart !== undefined && typeof a.needsRestart !== 'boolean') return 'needsRestart is not a boolean';
  // An allowlist lets packets past the tunnel: only entries the config itself would take.
  if (a.allow !== undefined && (!Array.isArray(a.allow) || a.allow.length > MAX_ALLOW || !a.allow.every((e) => typeof e === 'string' && isAllowEntry(e)))) {
    return 'allow is not a list of addresses, ranges and host names';
  }
  if (a.inPlace !== undefined && (!isBelow(a.inPlace, bounds.cgroupRoot) || a.inPlace === bounds.parentPath || isBelow(a.inPlace, bounds.parentPath))) {
    return 'inPlace is not a group outside ksapp\'s parent below the cgroup2 mount';
  }
  const forwarded = forwardedProblem(a.forwarded);
  if (forwarded) return forwarded;
  if (a.container !== undefined && !(isRecord(a.container) && (a.container.runtime === 'podman' || a.container.runtime === 'docker')
    && typeof a.container.id === 'string' && /^[0-9a-f]{12,64}$/.test(a.container.id) && typeof a.container.name === 'string')) return 'container is not a runtime, id and name';
  if (a.returnTo !== undefined && a.returnTo !== bounds.cgroupRoot && !isBelow(a.returnTo, bounds.cgroupRoot)) return 'returnTo is not a group below the cgroup2 mount';
  const group = typeof a.inPlace === 'string' ? a.inPlace : path.join(bounds.parentPath, a.name as string);
  return a.adoption === undefined ? undefined : adoptionProblem(a.adoption, group);
}

/** The trustworthy part of a parsed state.json and what was dropped, each named (pure). */
export function trustedState(value: unknown, bounds: StateBounds): { state: SavedState | undefined; dropped: string[] } {
  if (!isRecord(value) || value.version !== 1 || typeof value.cgroupParent !== 'string' || !Array.isArray(value.apps)) {
    return { state: undefined, dropped: ['the file is not a ksapp state (version 1)'] };
  }
  const apps: SavedDaemonApp[] = [];
  const dropped: string[] = [];
  const names = new Set<string>();
  for (const [i, a] of value.apps.entries()) {
    const problem = savedAppProblem(a, bounds) ?? (names.has((a as { name: string }).name) ? 'a second app of that name' : undefined);
    if (problem) {
      dropped.push(`apps[${i}]: ${problem}`);
      continue;
    }
    names.add((a as { name: string }).name);
    apps.push(a as SavedDaemonApp);
  }
  return { state: { version: 1, cgroupParent: value.cgroupParent, apps }, dropped };
}

