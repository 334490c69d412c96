import type { Adoption } from '../adopt/move.js';
import type { Allowlist } from '../config/allow.js';
import type { App } from './app.js';
import type { RouteChange, SupervisorEvent, TunnelTransition } from './types.js';

/** Addresses by family, as the firewall takes them. */
export interface Families { readonly v4: readonly string[]; readonly v6: readonly string[] }

/** An address a host name resolved to, allowed until its record expires (ms since the epoch). */
export interface TimedAddress { readonly addr: string; readonly expiresAt: number }

/** What an allowlisted host name resolves to now, by family. */
export interface ResolvedName { readonly v4: readonly TimedAddress[]; readonly v6: readonly TimedAddress[] }

/** What the supervisor believes about its tunnel. */
export interface TunnelView {
  readonly state: 'up' | 'down' | 'unknown';
  readonly since: number;
  readonly reason: string;
}

/** One watched tunnel as the supervisor sees it. */
export interface TunnelState extends TunnelView {
  /** Its slot of the mark space and routing tables (0: the primary). */
  readonly slot: number;
  /** Multi-hop: the tunnel this one's endpoint is reached through; it is healthy only while that one is. */
  readonly via?: string;
  /** Resolvers inside it (the world's `dns` when empty). */
  readonly dns: Families;
  /** Its peers' endpoints (`addr:port`), as its monitor last read them (WireGuard); with `via` they are guarded. */
  readonly endpoints?: readonly string[];
}

/** Everything the supervisor decides from: written only by `step` (see machine.ts). */
export interface World {
  /** The tunnel apps ride unless they name another (slot 0). */
  readonly primary: string;
  readonly tunnels: ReadonlyMap<string, TunnelState>;
  readonly apps: ReadonlyMap<string, App>;
  readonly dns: Families;
  readonly lan: Families;
  /** Ranges and names every app may reach directly (config `allow`). */
  readonly allow?: Allowlist;
  /** The addresses of allowlisted host names, as the daemon last resolved them. */
  readonly resolved?: ReadonlyMap<string, ResolvedName>;
}

/** One thing that happened, as the supervisor's loop takes it in. */
export type Input =
  | { readonly type: 'tunnel'; readonly iface: string; readonly transition: TunnelTransition }
  /** A better reason for a down tunnel, no change of state. */
  | { readonly type: 'tunnel-reason'; readonly iface: string; readonly reason: string }
  /** A tunnel's start grace ran out; its monitor's belief and why. */
  | { readonly type: 'start-grace'; readonly iface: string; readonly monitorDown: boolean; readonly why: string | undefined; readonly at: number }
  /** A tunnel's peers' endpoints changed (a multi-hop tunnel's must be reached through its outer hop only). */
  | { readonly type: 'tunnel-endpoints'; readonly iface: string; readonly endpoints: readonly string[] }
  /** A tunnel watched from now on (an app named it); its state is unknown until its monitor speaks. */
  | { readonly type: 'tunnel-added'; readonly iface: string; readonly slot: number; readonly via?: string; readonly dns: Families }
  | { readonly type: 'route'; readonly change: RouteChange }
  /** Apps a previous daemon left, taken back at start. */
  | { readonly type: 'recovered'; readonly apps: readonly App[] }
  /** A new app whose group and (for a fresh group) emptiness are known. */
  | { readonly type: 'add'; readonly app: App; readonly empty: boolean }
  | { readonly type: 'adopted'; readonly name: string; readonly adoption: Adoption }
  /** Sockets from before an adoption are outside protection: frozen until restarted. */
  | { readonly type: 'unsafe-sockets'; readonly name: string; readonly detail: string }
  /** The app's last process exited (its in-place group was removed). */
  | { readonly type: 'emptied'; readonly name: string }
  | { readonly type: 'remove'; readonly name: string }
  | { readonly type: 'settings'; readonly dns?: Families; readonly lan?: Families; readonly allow?: Allowlist }
  /** An app's own allowlist changed (its config entry was reloaded). */
  | { readonly type: 'app-allow'; readonly name: string; readonly allow: Allowlist }
  /** An allowlisted name's answer (empty: no record, or the lookup failed); `at` is when it was received. */
  | { readonly type: 'resolved'; readonly name: string; readonly answer: ResolvedName; readonly at: number }
  /** A user's command. */
  | { readonly type: 'freeze' | 'thaw' | 'kill'; readonly name: string };

/** One group to act on, and what to log once it is done. */
export interface Order {
  readonly name: string;
  /** Logged after the action; a freeze that times out adds why. */
  readonly log?: Omit<SupervisorEvent, 'at' | 'app'>;
}

/** What the loop does, in order, after a step. */
export type Action =
  /** Freezes, thaws or kills the groups in parallel (the reaction time is the slowest group's). */
  | { readonly type: 'freeze' | 'thaw'; readonly orders: readonly Order[] }
  /** Sends SIGKILL to every process; `wait`: until each group is empty (or its time-out). */
  | { readonly type: 'kill'; readonly orders: readonly Order[]; readonly wait: boolean }
  /** Loads the ruleset for the world as it now is (one transaction). */
  | { readonly type: 'sync' }
  /** Puts the tunnel's default route into its table (the kernel dropped it with the interface). */
  | { readonly type: 'route-into-tunnel'; readonly iface: string; readonly slot: number }
  /** Adds a new tunnel's ip rule and table (unreachable until its route is in). */
  | { readonly type: 'ensure-routing'; readonly iface: string; readonly slot: number }
  /** Puts back a default route someone removed from a table of ours; `what` names it for the log. */
  | { readonly type: 'restore-route'; readonly route: 'unreachable' | 'tunnel'; readonly iface: string; readonly slot: number; readonly what: string }
  /** Forgets the tracked connections carrying these marks (an app moved: NAT and route are decided per connection). */
  | { readonly type: 'forget-flows'; readonly marks: readonly number[] }
  /** Forgets the tracked connections of these apps' sockets (what they may reach directly changed: a flow takes its new path afresh). */
  | { readonly type: 'renew-flows'; readonly names: readonly string[] }
  | { readonly type: 'restart'; readonly name: string }
  /** Stops watching the app's group, thaws it, and (unless in place) kills what is left and removes it. */
  | { readonly type: 'drop-group'; readonly app: App }
  | { readonly type: 'log'; readonly event: Omit<SupervisorEvent, 'at'> }
  /** Logs a transition with the time from its detection until every action before this one was done. */
  | { readonly type: 'reacted'; readonly iface: string; readonly state: 'up' | 'down'; readonly reason: string; readonly detectedAt?: bigint };

/** The consequence of one input: the next world and what to do about it. */
export interface Step {
  readonly world: World;
  readonly actions: readonly Action[];
}
