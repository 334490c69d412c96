// A one-shot picture of an interface (`ip -d -j addr show dev IFACE`): one ip call gives
// the flags, operstate, link kind and addresses together, so they belong to one moment.
import { runTool, tools } from '../tools.js';
import { MonitorError } from './errors.js';

/** One address of a snapshot. */
export interface SnapshotAddr {
  family: 'inet' | 'inet6';
  address: string;
  prefixlen: number;
  /** The point-to-point peer (`peer X/N`), when there is one. */
  peer?: string;
  scope: string;
  /** Not usable for traffic yet (DAD running) or never (DAD failed). */
  tentative: boolean;
}

/** What one `ip -d -j addr show` entry says about an interface. */
export interface LinkSnapshot {
  ifindex: number;
  ifname: string;
  flags: string[];
  operstate: string;
  /** linkinfo.info_kind: `wireguard`, `tun` (also tap and wireguard-go), `veth`…; null for plain devices. */
  kind: string | null;
  /** linkinfo.info_data.type for tun-kind devices: `tun` or `tap`. */
  tunType: string | null;
  addrs: SnapshotAddr[];
}

interface RawAddr { family?: string; local?: string; address?: string; prefixlen?: number; scope?: string; tentative?: boolean; dadfailed?: boolean }
interface RawLink {
  ifindex?: number; ifname?: string; flags?: string[]; operstate?: string;
  linkinfo?: { info_kind?: string; info_data?: { type?: string } }; addr_info?: RawAddr[];
}

/** Parses `ip -d -j addr show` output into snapshots (pure). */
export function parseIpAddrJson(text: string): LinkSnapshot[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new MonitorError('ip printed JSON ksapp cannot read', { code: 'MONITOR_IP_PARSE', cause, userFixable: false });
  }
  if (!Array.isArray(raw)) return [];
  return (raw as RawLink[]).map((l) => ({
    ifindex: l.ifindex ?? 0,
    ifname: l.ifname ?? '',
    flags: l.flags ?? [],
    operstate: l.operstate ?? 'UNKNOWN',
    kind: l.linkinfo?.info_kind ?? null,
    tunType: l.linkinfo?.info_data?.type ?? null,
    addrs: (l.addr_info ?? []).filter((a) => a.family === 'inet' || a.family === 'inet6').map((a) => {
      const addr: SnapshotAddr = {
        family: a.family as 'inet' | 'inet6',
        address: a.local ?? '',
        prefixlen: a.prefixlen ?? 0,
        scope: a.scope ?? 'global',
        tentative: a.tentative === true || a.dadfailed === true,
      };
      if (a.address !== undefined && a.address !== a.local) addr.peer = a.address;
      return addr;
    }),
  }));
}

/**
 * Reads a fresh snapshot of `iface`; null when the interface does not exist.
 * Every interface is listed and the one named picked out: asking for a
 * missing device is an error whose only mark is its English text.
 */
export async function readLinkSnapshot(iface: string, ip: string = tools.ip): Promise<LinkSnapshot | null> {
  return parseIpAddrJson(await runTool(ip, ['-d', '-j', 'addr', 'show'])).find((l) => l.ifname === iface) ?? null;
}
