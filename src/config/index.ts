// The config module's public surface: other modules import from here, not from the files behind it.
export type { AppConfig, Config, HookConfig, GatewayConfig, HookEvent, DnsConfig, LanConfig, MatchRule, OnDrop, ProbeConfig, ReconnectConfig, TunnelConfig } from './types.js';
export {
  DEFAULT_CGROUP_PARENT, DEFAULT_CONFIG_FILE, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_HOLD_DOWN_MS, DEFAULT_MAX_HOLD_DOWN_MS, DEFAULT_PROBE_FAILURES, DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_RECONNECT_EVERY_MS, DEFAULT_RECONNECT_TIMEOUT_MS, ON_DROP_VALUES,
} from './types.js';
export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
export { loadConfig, loadConfigText, parseConfig } from './load.js';
export { DurationError, MAX_TIMER_MS, parseDuration } from './duration.js';
export { AddressError, formatIp, ipInCidr, isPrivateRange, LAN_RANGES, parseCidr, parseIp, splitFamilies, type Cidr, type IpAddress } from './ip.js';
