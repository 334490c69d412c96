import type { Cgroup } from '../../cgroups/index.js';
import type { Adoption } from '../adopt/move.js';
import type { Allowlist } from '../config/allow.js';
import type { ForwardedRule } from '../firewall/policy.js';
import type { AppState, DropPolicy } from './types.js';

/** Options a caller gives for a new protected app. */
export interface AppOptions {
  /** Unique name; becomes the cgroup's directory name. */
  readonly name: string;
  readonly onDrop: DropPolicy;
  readonly allowLan: boolean;
  /** With onDrop kill: start the app again when the tunnel is back. */
  readonly restart: boolean;
  /** The user the app belongs to: only they (or root) may loosen or end it. */
  readonly uid: number;
  /** How it came under protection. */
  readonly origin: 'run' | 'adopted' | 'config';
  /**
   * An existing group protected where it is (a systemd unit, a container):
   * ksapp never kills or removes it when it stops protecting it.
   */
  readonly inPlace?: string;
  /** Its tunnels in failover order (first preferred); the primary when absent. */
  readonly tunnels?: readonly string[];
  /** Back to an earlier tunnel of its list once that one is healthy again (default true). */
  readonly failback?: boolean;
  /** Ranges and names this app alone may reach directly (config `apps[].allow`). */
  readonly allow?: Allowlist;
  /** A `ksapp run` app: the group its launcher came from, where release puts its processes. */
  readonly returnTo?: string;
  /** Traffic this host routes for it: a container's, a VM's or LAN hosts' (`protect --container/--iface`, `gateway`). */
  readonly forwarded?: readonly ForwardedRule[];
  /** The container it is, as its runtime names it (`protect --container`, config `match: { container }`). */
  readonly container?: ContainerRef;
}

/** A container as its runtime knows it. */
export interface ContainerRef {
  readonly runtime: 'podman' | 'docker';
  readonly id: string;
  readonly name: string;
}

/** One protected app as the supervisor tracks it. */
export interface App extends AppOptions {
  /** Small id, unique while the app lives; it becomes part of the packet mark. */
  readonly id: number;
  readonly tunnels: readonly string[];
  readonly failback: boolean;
  /** The tunnel of its list it rides now (its packets may leave only through this one). */
  readonly rides: string;
  readonly cgroup: Cgroup;
  readonly state: AppState;
  /** Policy chose to drop all its traffic (block while the tunnel is down). */
  readonly blocked: boolean;
  /** Frozen by a user's request: the tunnel coming back does not thaw it. */
  readonly manualFreeze: boolean;
  readonly addedAt: number;
  /** Adopted processes and where each came from: release puts them back there. */
  readonly adoption?: Adoption;
  /** Killed by the kill switch with `restart`: starts again once its group is empty and the tunnel is up. */
  readonly restartPending?: boolean;
  /** Killed, and its group has emptied since. */
  readonly emptied?: boolean;
}

/** Lowest free id not used by any app (pure). */
export function nextAppId(used: Iterable<number>): number {
  const taken = new Set(used);
  let id = 1;
  while (taken.has(id)) id++;
  return id;
}

/** Turns a command into a default app name that is safe as a cgroup name (pure). */
export function defaultAppName(command: string): string {
  const base = command.split('/').pop() ?? 'app';
  const safe = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').replace(/^cgroup\./, 'cgroup_').slice(0, 48);
  return safe || 'app';
}

/** First of name, name-2, name-3 … not in use (pure). */
export function uniqueName(name: string, taken: (candidate: string) => boolean): string {
  if (!taken(name)) return name;
  for (let n = 2; ; n++) {
    const candidate = `${name}-${n}`;
    if (!taken(candidate)) return candidate;
  }
}
