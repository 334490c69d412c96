import type { TunnelKind } from './detect.js';

/** What watches a tunnel, and what the user should add when a failure would go unseen. */
export interface HealthCoverage {
  /** The health sources in use: `link`, `handshake`, `probe`. */
  readonly sources: readonly string[];
  /** What to configure, when a silent server death would be seen late or never. */
  readonly advice?: string;
}

/**
 * Which health sources a tunnel of this kind has, and what a silent failure
 * (the server gone, the path blocked, nothing on the link) needs (pure).
 * WireGuard reports a handshake age; OpenVPN and other tun/tap tunnels do
 * not, so only a probe through the tunnel sees their server die.
 */
export function healthCoverage(iface: string, kind: TunnelKind | null, sources: readonly string[]): HealthCoverage {
  const probe = sources.includes('probe');
  const add = `add \`probe: { address: ADDR }\` under the tunnel ${iface} in the config, ADDR an address answering inside the tunnel (e.g. the server's)`;
  if (probe) return { sources };
  if (kind === 'wireguard' || kind === 'wireguard-go') {
    return { sources, advice: `a silent server death is seen only when the WireGuard handshake grows older than handshakeTimeout (180 s by default); for ~2 s, ${add}` };
  }
  if (kind === null) return { sources, advice: `its kind is not known yet (the interface is missing); a silent server death is seen only by a probe: ${add}` };
  return { sources, advice: `a ${kind} tunnel (OpenVPN and the like) has no handshake age: a silent server death is never seen without a probe; ${add}` };
}
