/**
 * The daemon's socket protocol: newline-delimited JSON. Each request line gets
 * exactly one response line with the same `id`; a `subscribe` request turns the
 * connection into a stream of `event` lines (the first one a full `status`).
 */
import type { AppState, DropPolicy } from '../supervisor/types.js';

/** Largest request line the daemon reads; longer lines are answered with an error and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** The tunnel as `ksapp status --json` shows it. */
export interface TunnelStatus {
  readonly interface: string;
  readonly state: 'up' | 'down';
  /** ISO time of the last transition. */
  readonly since: string;
  readonly reason: string;
  /** WireGuard only: age of the newest handshake, ms; null when unknown or never. */
  readonly handshakeAgeMs: number | null;
  /** Round-trip time of the last successful probe, ms; null without a probe. */
  readonly probeRttMs: number | null;
  /** How long the last kill-switch reaction took (event seen → every cgroup acted on), ms. */
  readonly lastReactionMs: number | null;
  /** Its kind (`wireguard`, `wireguard-go`, `tun`, `tap`; null until found), its health sources, and what to configure when a silent failure would go unseen. */
  readonly kind?: string | null;
  readonly sources?: readonly string[];
  readonly advice?: string;
}

/** States an app shows; `needs-restart` marks an adopted app whose old sockets could not be closed. */
export type AppStatusState = AppState | 'needs-restart';

/** One protected app as `ksapp status --json` shows it. */
export interface AppStatus {
  readonly name: string;
  readonly state: AppStatusState;
  readonly policy: DropPolicy;
  readonly pids: readonly number[];
  /** Absolute path of the app's cgroup. */
  readonly cgroup: string;
  readonly packets: { readonly tunnel: number; readonly dropped: number };
  readonly bytes: { readonly tunnel: number };
  /** Owner: the uid that started or adopted it, and its name when known. */
  readonly uid: number;
  readonly user: string;
  readonly allowLan: boolean;
  readonly restart: boolean;
  /** How it came under protection. */
  readonly origin: 'run' | 'adopted' | 'config';
  readonly since: string;
  /** Address ranges and host names it may reach directly, outside the tunnel (the config's `allow` and its own); absent when none. */
  readonly allow?: readonly string[];
  /** What it is: processes, a container, everything routed in from an interface, or LAN hosts (absent in older daemons). */
  readonly kind?: 'process' | 'container' | 'interface' | 'lan';
  /** The container it is (`protect --container`), and the traffic this host routes for it: where it comes in, from which addresses or MACs. */
  readonly container?: { readonly runtime: string; readonly id: string; readonly name: string };
  readonly forwarded?: ReadonlyArray<{ readonly iface: string; readonly v4: readonly string[]; readonly v6: readonly string[]; readonly macs?: readonly string[] }>;
  /** What each of those host names resolves to now: addresses reached directly until their records expire. */
  readonly allowNames?: ReadonlyArray<{ readonly name: string; readonly addresses: ReadonlyArray<{ readonly address: string; readonly expiresAt: string }> }>;
  /** The tunnel it rides now, and its failover order (absent in older daemons). */
  readonly tunnel?: string;
  readonly tunnels?: readonly string[];
}

/** A line of the event log (also streamed to subscribers). */
export interface EventRecord {
  readonly at: string;
  readonly type: string;
  readonly app?: string;
  /** The tunnel it is about, when there are several (absent in older daemons). */
  readonly tunnel?: string;
  readonly detail?: string;
  readonly reactionMs?: number;
}

/** The whole picture: what `ksapp status --json` prints and the dashboard draws. */
export interface Status {
  /** The primary tunnel (the one apps ride unless they name another). */
  readonly tunnel: TunnelStatus;
  /** Every watched tunnel, the primary first, with the apps riding each (absent in older daemons). */
  readonly tunnels?: ReadonlyArray<TunnelStatus & { readonly apps: readonly string[]; readonly via?: string }>;
  readonly apps: readonly AppStatus[];
  readonly daemon: { readonly pid: number; readonly startedAt: string; readonly socket: string };
  /** The config file in force and the last error of a rejected edit (null when the last edit was good). */
  readonly config: { readonly file: string | null; readonly error: string | null };
  /** Newest last, bounded. */
  readonly events: readonly EventRecord[];
  /**
   * How each config rule (`apps[].match`) learns of new instances: `exec`,
   * confined before the first instruction; `after-start`, adopted once seen,
   * with a window (each adoption's event says how long), and why.
   */
  readonly rules?: ReadonlyArray<{ readonly app: string; readonly guard: 'exec' | 'after-start' | 'unit'; readonly why?: string }>;
}

/** Requests a client may send. */
export type Request =
  | { id: number; op: 'status' }
  /** `status: false`: events only, no status snapshots (a `ksapp run` waiting for its restart needs no counters). */
  | { id: number; op: 'subscribe'; status?: boolean }
  | { id: number; op: 'register'; name?: string; onDrop?: DropPolicy; allowLan?: boolean; restart?: boolean; uid?: number; command?: string[]; cwd?: string; tunnels?: string[] }
  | { id: number; op: 'freeze' | 'thaw' | 'kill' | 'release' | 'start'; name: string }
  | { id: number; op: 'enter'; name: string; pid: number }
  | { id: number; op: 'protect'; pid?: number; exe?: string; unit?: string; cgroup?: string; container?: string; iface?: string; hosts?: string[]; name?: string; onDrop?: DropPolicy; tunnels?: string[] };

/** What `register` answers: where the client puts the app's first process. */
export interface Registration {
  readonly name: string;
  /** Absolute path of the app's cgroup: always `parent/name`. */
  readonly cgroup: string;
  /** Absolute path of ksapp's parent group. */
  readonly parent: string;
  /** A resolv.conf naming the tunnel's resolvers, or null when none are configured. */
  readonly resolvConf: string | null;
  /** The app's tunnel as the daemon knows it when the app is registered (down: the app starts frozen, killed or blocked). */
  readonly tunnel?: { readonly interface: string; readonly state: 'up' | 'down'; readonly reason: string; readonly exists: boolean; readonly tunnelsHere: readonly string[] };
}

/** A response to one request. */
export type Response =
  | { id: number; ok: true; result?: unknown }
  | { id: number; ok: false; error: { code: string; message: string; hint: string; exitCode?: 1 | 2 } };

/** A line on a subscription: a full status snapshot or one event. */
export type StreamMessage =
  | { type: 'status'; status: Status }
  | { type: 'event'; event: EventRecord };
