// Pure conversion of the rtnetlink addon's objects into the shapes link-state.ts already
// takes (MonitorEvent, LinkSnapshot), plus the table of every link and address of the
// namespace that the dump fills and the events keep current: a snapshot of the watched
// interface is read from it at any time, without asking the kernel again.
import { isLinkUp, type AddrEvent, type LinkEvent, type MonitorEvent, type RouteEvent } from './ip-monitor-parse.js';
import type { LinkSnapshot, SnapshotAddr } from './link-snapshot.js';

/** A link message as the addon hands it over (family 0 is a device; AF_BRIDGE ones describe bridge ports). */
export interface RawLink { kind: 'link'; deleted: boolean; ifindex: number; ifname: string; up: boolean; lowerUp: boolean; operstate: number; linkKind: string; tunType?: number; family?: number }
/** An address message as the addon hands it over (`local` is empty unless IFA_LOCAL was sent). */
export interface RawAddr { kind: 'addr'; deleted: boolean; ifindex: number; family: number; address: string; local: string; prefixlen: number; scope: number; tentative: boolean; dadfailed: boolean }
/** A route message as the addon hands it over (`oif` 0: no output device). */
export interface RawRoute { kind: 'route'; deleted: boolean; family: number; table: number; type: number; dst: string; prefixlen: number; oif: number; gateway: string; linkdown: boolean }
/** Anything the addon hands over. */
export type RawNetlinkEvent = RawLink | RawAddr | RawRoute | { kind: 'dump-done' } | { kind: 'overrun' } | { kind: 'failed'; errno: number };

/** Every link of the namespace by ifindex, each with its addresses. */
export type LinkTable = Map<number, LinkSnapshot>;

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];
const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };
const ROUTE_TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve'];
const TABLES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };
const FAMILIES: Record<number, 'inet' | 'inet6'> = { 2: 'inet', 10: 'inet6' };
const TUN_TYPES: Record<number, string> = { 1: 'tun', 2: 'tap' };
const RTN_UNICAST = 1;
const LOOPBACK_IFINDEX = 1;

/** The operstate name iproute2 prints for IF_OPER_* `n`. */
export const operstateName = (n: number): string => OPERSTATES[n] ?? 'UNKNOWN';

/** Converts one addon object into a MonitorEvent; null for what the link state does not follow. */
export function decodeEvent(raw: RawNetlinkEvent, table: LinkTable): MonitorEvent | null {
  if (raw.kind === 'link') return decodeLink(raw);
  if (raw.kind === 'addr') return decodeAddr(raw, table);
  if (raw.kind === 'route') return decodeRoute(raw, table);
  return null;
}

function decodeLink(raw: RawLink): LinkEvent | null {
  if ((raw.family ?? 0) !== 0) return null; // a bridge-port view of a device, not the device
  const flags = [...(raw.up ? ['UP'] : []), ...(raw.lowerUp ? ['LOWER_UP'] : [])];
  const state = operstateName(raw.operstate);
  return { kind: 'link', deleted: raw.deleted, ifindex: raw.ifindex, ifname: raw.ifname, flags, state, adminUp: raw.up, up: isLinkUp(flags, state) };
}

/** The SnapshotAddr of an address message: IFA_LOCAL is our address when present, IFA_ADDRESS then its peer. */
export function snapshotAddr(raw: RawAddr): SnapshotAddr | null {
  const family = FAMILIES[raw.family];
  const address = raw.local || raw.address;
  if (family === undefined || address === '') return null;
  const addr: SnapshotAddr = { family, address, prefixlen: raw.prefixlen, scope: SCOPES[raw.scope] ?? String(raw.scope), tentative: raw.tentative || raw.dadfailed };
  if (raw.local !== '' && raw.address !== '' && raw.address !== raw.local) addr.peer = raw.address;
  return addr;
}

function decodeAddr(raw: RawAddr, table: LinkTable): AddrEvent | null {
  const addr = snapshotAddr(raw);
  return addr ? { kind: 'addr', deleted: raw.deleted, ifindex: raw.ifindex, ifname: table.get(raw.ifindex)?.ifname ?? '', ...addr } : null;
}

function decodeRoute(raw: RawRoute, table: LinkTable): RouteEvent | null {
  const family = FAMILIES[raw.family];
  if (family === undefined) return null;
  const full = raw.prefixlen === (family === 'inet' ? 32 : 128);
  const dst = raw.prefixlen === 0 ? 'default' : full ? raw.dst : `${raw.dst}/${raw.prefixlen}`;
  const event: RouteEvent = {
    kind: 'route', deleted: raw.deleted, family, type: ROUTE_TYPES[raw.type] ?? String(raw.type), dst,
    table: TABLES[raw.table] ?? String(raw.table), linkdown: raw.linkdown,
  };
  const dev = table.get(raw.oif)?.ifname;
  if (dev !== undefined) event.dev = dev;
  if (raw.gateway !== '') event.via = raw.gateway;
  return event;
}

/** Whether a route message concerns the interface `ifindex`: through it, or a device-less fallback (unreachable, blackhole…). */
export function routeConcerns(raw: RawRoute, ifindex: number | null): boolean {
  if (ifindex !== null && raw.oif === ifindex) return true;
  // IPv6 hangs unreachable/blackhole routes on lo; IPv4 gives them no device at all.
  return raw.type !== RTN_UNICAST && (raw.oif === 0 || raw.oif === LOOPBACK_IFINDEX);
}

const sameAddr = (a: SnapshotAddr, b: SnapshotAddr): boolean => a.family === b.family && a.address === b.address && a.prefixlen === b.prefixlen;

/** Applies one addon object to the table (mutating it); dumps and events alike, in the order they came. */
export function applyToTable(table: LinkTable, raw: RawNetlinkEvent): void {
  if (raw.kind === 'link' && (raw.family ?? 0) === 0) {
    if (raw.deleted) {
      table.delete(raw.ifindex);
      return;
    }
    const flags = [...(raw.up ? ['UP'] : []), ...(raw.lowerUp ? ['LOWER_UP'] : [])];
    const old = table.get(raw.ifindex);
    table.set(raw.ifindex, {
      ifindex: raw.ifindex, ifname: raw.ifname, flags, operstate: operstateName(raw.operstate),
      kind: raw.linkKind || (old?.kind ?? null), tunType: TUN_TYPES[raw.tunType ?? 0] ?? old?.tunType ?? null, addrs: old?.addrs ?? [],
    });
  } else if (raw.kind === 'addr') {
    const link = table.get(raw.ifindex);
    const addr = snapshotAddr(raw);
    if (!link || !addr) return;
    link.addrs = link.addrs.filter((a) => !sameAddr(a, addr));
    if (!raw.deleted) link.addrs.push(addr);
  }
}

/** The snapshot of the link named `iface` in the table (a copy), or null when there is none. */
export function snapshotOf(table: LinkTable, iface: string): LinkSnapshot | null {
  for (const link of table.values()) if (link.ifname === iface) return { ...link, flags: [...link.flags], addrs: link.addrs.map((a) => ({ ...a })) };
  return null;
}
