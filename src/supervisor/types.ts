/** What an app does when the tunnel goes down. */
export type DropPolicy = 'freeze' | 'kill' | 'block';

/** The states an app can be in, as status and the dashboard show them. */
export type AppState = 'running' | 'frozen' | 'blocked' | 'killed' | 'exited' | 'needs-restart';

/** A tunnel up/down transition as the monitor reports it. */
export interface TunnelTransition {
  readonly state: 'up' | 'down';
  readonly reason: string;
  /** Wall-clock time of the transition (ms since the epoch). */
  readonly at: number;
  /** process.hrtime.bigint() when the cause was seen, to measure reaction time. */
  readonly detectedAt?: bigint;
  readonly source?: string;
}

/** A route change as the monitor reports it (only what the supervisor looks at). */
export interface RouteChange {
  readonly deleted: boolean;
  readonly type: string;
  readonly dst: string;
  readonly table: string;
}

/** The part of the tunnel monitor the supervisor relies on. */
export interface TunnelWatch {
  on(event: 'transition', listener: (t: TunnelTransition) => void): unknown;
  on(event: 'route', listener: (r: RouteChange) => void): unknown;
  /** A better reason for a down tunnel, with no change of state (deleted, after "set down"). */
  on(event: 'reason', listener: (t: TunnelTransition) => void): unknown;
  /** The tunnel's peers' endpoints (`addr:port`), when it knows them (WireGuard), each time they change. */
  on(event: 'endpoints', listener: (endpoints: readonly string[]) => void): unknown;
  /** A source's trouble that is not a verdict (its helper process restarted, a lookup failed). */
  on(event: 'warning', listener: (e: unknown) => void): unknown;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /** The monitor's belief right now (down until every source has proven the tunnel up). */
  readonly state?: 'up' | 'down';
  /** Why the tunnel is in that state now. */
  reasonNow?(): string;
}

/** A supervisor event, for the log, status and the dashboard. */
export interface SupervisorEvent {
  readonly at: number;
  readonly type: 'tunnel-down' | 'tunnel-up' | 'app-added' | 'app-exited' | 'app-frozen' | 'app-thawed'
    | 'app-killed' | 'app-blocked' | 'app-unblocked' | 'app-removed' | 'app-recovered' | 'app-restart'
    | 'config-reloaded' | 'config-error' | 'route-restored' | 'app-adopted' | 'app-needs-restart' | 'dns-bypass' | 'exec-watch' | 'exec-guard' | 'state-dropped' | 'tunnel-reason' | 'monitor-warning' | 'app-moved' | 'tunnel-reconnect' | 'hook' | 'app-allow' | 'allow-resolved' | 'error';
  readonly app?: string;
  /** The tunnel it is about, when it is about one. */
  readonly tunnel?: string;
  readonly detail?: string;
  /** Event seen → every affected cgroup acted on, in milliseconds. */
  readonly reactionMs?: number;
}
