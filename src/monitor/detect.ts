// Which interface is the tunnel, and what kind of tunnel it is.
import { runTool, tools } from '../tools.js';
import { MonitorError } from './errors.js';
import type { LinkSnapshot } from './link-snapshot.js';

/** The tunnel kinds the monitor knows how to watch. */
export type TunnelKind = 'wireguard' | 'wireguard-go' | 'tun' | 'tap';

/** Picks the single wg*\/tun* name among `names` (pure); throws MonitorError listing the candidates otherwise. */
export function pickTunnel(names: readonly string[]): string {
  const candidates = names.filter((n) => /^(wg|tun)/.test(n));
  if (candidates.length === 1) return candidates[0] as string;
  const hint = 'name the tunnel with --tunnel IFACE or `tunnel.interface` in the config';
  if (candidates.length === 0) {
    throw new MonitorError(`no tunnel interface found: no wg* or tun* interface among ${names.join(', ') || 'none'}`, {
      code: 'MONITOR_NO_TUNNEL', hint: `connect the VPN first, or ${hint}`, exitCode: 2,
    });
  }
  throw new MonitorError(`more than one tunnel interface: ${candidates.join(', ')}`, { code: 'MONITOR_MANY_TUNNELS', hint, exitCode: 2 });
}

/** Returns the single wg*\/tun* interface of this network namespace, or throws a MonitorError naming the candidates. */
export async function detectTunnel(ip: string = tools.ip): Promise<string> {
  const links = JSON.parse(await runTool(ip, ['-j', 'link', 'show'])) as { ifname?: string }[];
  return pickTunnel(links.map((l) => l.ifname ?? '').filter(Boolean));
}

/** Classifies a snapshot's link kind (pure); `wgAnswers` says whether `wg show IFACE dump` worked. Null: not a tunnel. */
export function classifyTunnel(snap: LinkSnapshot, wgAnswers: boolean): TunnelKind | null {
  if (snap.kind === 'wireguard') return 'wireguard';
  if (snap.kind !== 'tun') return null;
  if (snap.tunType === 'tap') return 'tap';
  // wireguard-go shows up as a plain tun device; only its control socket tells it apart.
  return wgAnswers ? 'wireguard-go' : 'tun';
}

/** Finds the kind of `snap`'s interface, asking wg only for tun devices; throws MONITOR_NOT_TUNNEL for anything else. */
export async function tunnelKind(snap: LinkSnapshot, wg: string = tools.wg): Promise<TunnelKind> {
  const wgAnswers = snap.kind === 'tun' && snap.tunType !== 'tap'
    ? await runTool(wg, ['show', snap.ifname, 'dump']).then(() => true, () => false)
    : false;
  const kind = classifyTunnel(snap, wgAnswers);
  if (kind === null) {
    throw new MonitorError(`${snap.ifname} is not a tunnel (its kind is ${snap.kind ?? 'a plain device'}), so ksapp cannot watch it as one`, {
      code: 'MONITOR_NOT_TUNNEL', hint: 'name a WireGuard, tun or tap interface (see `ip -d link show`)', exitCode: 2,
    });
  }
  return kind;
}
