// The monitor's options and their validation, kept pure so bad input is rejected before
// anything is spawned.
import { parseIp } from '../config/ip.js';
import { ifaceNameProblem } from '../iface-name.js';
import { MonitorError } from './errors.js';
import type { HoldOptions } from './state-machine.js';
import { isCidr } from './subnets.js';

/** Options of a TunnelMonitor; times in ms. */
export interface TunnelMonitorOptions extends HoldOptions {
  iface: string;
  /** WireGuard only: a newest handshake older than this means down (design default 180 s). */
  handshakeTimeoutMs: number;
  probe?: { address: string; intervalMs: number; failures: number; timeoutMs?: number };
  /** Extra prefixes that count as inside the tunnel (e.g. routed AllowedIPs) for the probe check. */
  tunnelCidrs?: string[];
  /** Wall clock in epoch ms. */
  clock?: () => number;
  /** Handshake poll period. */
  handshakePollMs?: number;
  /**
   * How link, address and route events arrive: `netlink`, a socket of this
   * process (subscribed, then dumped; the default where the addon is built),
   * or `ip-monitor`, a child `ip monitor` (the fallback; tests of it ask for it).
   */
  linkSource?: 'netlink' | 'ip-monitor';
}

/** Rejects options no monitor could run with (pure); throws MonitorError with exit code 2. */
export function validateOptions(o: TunnelMonitorOptions): void {
  const bad = (message: string, hint: string): never => {
    throw new MonitorError(message, { code: 'MONITOR_BAD_OPTION', hint, exitCode: 2 });
  };
  const problem = ifaceNameProblem(o.iface);
  if (problem) bad(`"${o.iface}" is not a valid interface name: it ${problem}`, 'use a name such as wg0');
  if (!(o.handshakeTimeoutMs > 0)) bad(`handshake timeout must be positive, got ${o.handshakeTimeoutMs} ms`, 'use e.g. 180s');
  if (o.holdMs !== undefined && !(o.holdMs >= 0)) bad(`hold-down must not be negative, got ${o.holdMs} ms`, 'use e.g. 250ms');
  if (o.maxHoldMs !== undefined && !(o.maxHoldMs >= (o.holdMs ?? 0))) bad(`maximum hold-down ${o.maxHoldMs} ms is below the hold-down ${o.holdMs ?? 0} ms`, 'make maxHoldDown at least holdDown');
  for (const cidr of o.tunnelCidrs ?? []) if (!isCidr(cidr)) bad(`"${cidr}" is not a CIDR prefix`, 'write prefixes like 10.66.0.0/24');
  const p = o.probe;
  if (!p) return;
  if (parseIp(p.address) === undefined) bad(`probe address "${p.address}" is not an IP address`, 'use the VPN server\'s tunnel address, e.g. 10.66.0.1');
  if (!(p.intervalMs > 0) || !Number.isFinite(p.intervalMs)) bad(`probe interval must be positive, got ${p.intervalMs} ms`, 'use e.g. 500ms');
  if (!Number.isInteger(p.failures) || p.failures < 1) bad(`probe failures must be a whole number ≥ 1, got ${p.failures}`, 'use e.g. 3');
  if (p.timeoutMs !== undefined && !(p.timeoutMs > 0)) bad(`probe timeout must be positive, got ${p.timeoutMs} ms`, 'leave it out to use the interval');
}
