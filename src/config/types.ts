/** What happens to an app when the tunnel drops. */
export type OnDrop = 'freeze' | 'kill' | 'block';

/** The policies in the order they are offered to the user. */
export const ON_DROP_VALUES: readonly OnDrop[] = ['freeze', 'kill', 'block'];

/** Active probe through the tunnel; durations in milliseconds. */
export interface ProbeConfig {
  /** Literal IP inside the tunnel (whether it is in the tunnel's subnet is the monitor's check). */
  address: string;
  interval: number;
  /** Consecutive lost probes that make the tunnel down. */
  failures: number;
}

/** How the daemon re-establishes a tunnel that is down; durations in milliseconds. */
export interface ReconnectConfig {
  /** argv run to bring the tunnel up (`[wg-quick, up, wg1]`); never run through a shell. */
  command: string[];
  /** Time between attempts. */
  every: number;
  /** How long one attempt may run before it is stopped. */
  timeout: number;
}

/** A tunnel to watch. */
export interface TunnelConfig {
  /** Interface name; undefined means auto-detect the single wg* or tun* interface. */
  interface?: string;
  /** A WireGuard handshake older than this (ms) means the tunnel is down. */
  handshakeTimeout: number;
  probe?: ProbeConfig;
  /** Healthy time required before up after a down (ms); doubled after each flap. */
  holdDown: number;
  /** Cap of the doubled hold-down (ms). */
  maxHoldDown: number;
  /** Resolvers inside this tunnel its apps' DNS is sent to; undefined means `dns.servers`. */
  dns?: string[];
  /** Multi-hop: this tunnel's endpoint is reached through that tunnel (the interface of another configured tunnel). */
  via?: string;
  reconnect?: ReconnectConfig;
}

/** Direct LAN access for protected apps. */
export interface LanConfig {
  /** Default for apps that do not set `allowLan`. */
  allow: boolean;
  /** What counts as LAN; every entry is a private, link-local, ULA or multicast CIDR. */
  ranges: string[];
}

/** Resolvers protected apps' DNS is sent to, through the tunnel. */
export interface DnsConfig {
  servers: string[];
}

/** How a running process is recognised as this app (at least one field is set). */
export interface MatchRule {
  /** Absolute path of the executable. */
  exe?: string;
  /** Process name. */
  name?: string;
  /** Owner, user name or numeric uid as a string. */
  user?: string;
  /** A systemd unit (`NAME.service`), confined as a whole from its start (alone in its rule). */
  unit?: string;
  /** A Podman or Docker container by name or id, protected whenever it runs (alone in its rule). */
  container?: string;
}

/** One protected app; it has `match`, `command` or both. */
export interface AppConfig {
  name: string;
  match?: MatchRule;
  /** argv to start it with (`ksapp start NAME`); never run through a shell. */
  command?: string[];
  onDrop: OnDrop;
  /** Start again when the tunnel is back (only with onDrop: kill). */
  restart: boolean;
  /** Resolved: the app's own setting, else `lan.allow`. */
  allowLan: boolean;
  /** User to run `command` as: user name or numeric uid as a string. */
  user?: string;
  /** Its tunnel, or a failover order (first = preferred), as interface names; undefined means the primary tunnel. */
  tunnel?: string[];
  /** Move back to an earlier tunnel of its list when that one is healthy again. */
  failback: boolean;
  /** Address ranges it may reach directly, outside the tunnel (beside the config's `allow`), also while the tunnel is down. */
  allow?: string[];
  /** Where its `match` is written (`config.yaml:12`), for messages about the rule. */
  at?: string;
}

/** The events a hook may be run for (the supervisor's event types, as the log and `status` name them). */
export const HOOK_EVENTS = [
  'tunnel-down', 'tunnel-up', 'tunnel-reason', 'tunnel-reconnect', 'app-added', 'app-exited', 'app-frozen', 'app-thawed',
  'app-killed', 'app-blocked', 'app-unblocked', 'app-removed', 'app-recovered', 'app-restart', 'app-adopted',
  'app-needs-restart', 'app-moved', 'app-allow', 'allow-resolved', 'dns-bypass', 'config-reloaded', 'config-error', 'route-restored', 'error',
] as const;
/** One hookable event type. */
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** A program run on chosen events (an argv, never a shell), as a named user, the event on its stdin. */
export interface HookConfig {
  on: HookEvent[];
  run: string[];
  /** User name or numeric uid to run it as (default: nobody, never root unless named). */
  user: string;
  /** Killed after this long (ms). */
  timeout: number;
}

/** A validated config with every default filled; durations are milliseconds. */
export interface Config {
  /** The primary tunnel: apps without a `tunnel` of their own use it. Always `tunnels[0]`. */
  tunnel: TunnelConfig;
  /** Every configured tunnel, the primary first; only the primary may lack `interface` (auto-detect). */
  tunnels: TunnelConfig[];
  lan: LanConfig;
  dns: DnsConfig;
  /** Relative cgroup path the app groups are created under. */
  cgroupParent: string;
  apps: AppConfig[];
  hooks: HookConfig[];
  /** Address ranges every protected app may reach directly, outside the tunnel, also while it is down (not DNS). */
  allow: string[];
  /** LAN hosts this machine routes for, confined to the tunnel (`ksapp gateway`). */
  gateway: GatewayConfig[];
}

/** One LAN a router-level kill switch holds: its interface and hosts (all of the interface's when none are listed). */
export interface GatewayConfig {
  lan: string;
  /** Addresses, ranges or MACs; empty: every host on the interface. */
  hosts: string[];
  /** The app name it is shown under; `lan-IFACE` by default. */
  name?: string;
  tunnel?: string[];
}

/** Where the daemon looks for its config when neither --config nor KSAPP_CONFIG is given. */
export const DEFAULT_CONFIG_FILE = '/etc/ksapp/config.yaml';
/** WireGuard rekeys every 2 minutes and gives up after 180 s, so an older handshake means a dead peer. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 180_000;
/** Default healthy time before a tunnel that was down counts as up again. */
export const DEFAULT_HOLD_DOWN_MS = 250;
/** Default cap of the hold-down a flapping tunnel doubles up to. */
export const DEFAULT_MAX_HOLD_DOWN_MS = 30_000;
/** Default probe interval; with 3 failures a silent death is seen within 2 s. */
export const DEFAULT_PROBE_INTERVAL_MS = 500;
/** Default number of consecutive lost probes that mean down. */
export const DEFAULT_PROBE_FAILURES = 3;
/** Default time between two attempts to bring a tunnel back up. */
export const DEFAULT_RECONNECT_EVERY_MS = 10_000;
/** Default time one attempt to bring a tunnel back up may run. */
export const DEFAULT_RECONNECT_TIMEOUT_MS = 30_000;
/** Default time limit of a hook. */
export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
/** Default cgroup parent of app groups. */
export const DEFAULT_CGROUP_PARENT = 'ksapp';
