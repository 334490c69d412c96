import type { SnapshotAddr } from './link-snapshot.js';
// Pure parser of `ip -o monitor link address route` output (iproute2 6.1).
// Lines are one event each because of -o; multi-line details are joined with `\`.
// Names in address and route lines come from ip's own ifindex→name cache, which is
// NOT refreshed on rename, so consumers must track links by ifindex, not by name.

/** A link (interface) event: created, changed or deleted. */
export interface LinkEvent {
  kind: 'link';
  deleted: boolean;
  ifindex: number;
  ifname: string;
  flags: string[];
  /** Operational state as printed after `state` (UP, DOWN, UNKNOWN, LOWERLAYERDOWN…). */
  state: string;
  /** Administratively up (the UP flag). */
  adminUp: boolean;
  /** Able to carry packets: admin up, carrier present (LOWER_UP) and state not DOWN-like. */
  up: boolean;
}

/** An address added to or removed from an interface. */
export interface AddrEvent extends SnapshotAddr {
  kind: 'addr';
  deleted: boolean;
  ifindex: number;
  /** The name ip had cached for ifindex (may be stale after a rename). */
  ifname: string;
}

/** A route added or removed (any table). */
export interface RouteEvent {
  kind: 'route';
  deleted: boolean;
  family: 'inet' | 'inet6';
  /** Route type when printed (local, broadcast, unreachable…); `unicast` otherwise. */
  type: string;
  /** Destination prefix, or `default`. */
  dst: string;
  /** Device name as ip had it cached (may be stale after a rename). */
  dev?: string;
  via?: string;
  /** Table name or number; `main` when not printed. */
  table: string;
  /** A marker the kernel prints when the route's device has no carrier. */
  linkdown: boolean;
}

/** Any event parsed from an `ip -o monitor` line. */
export type MonitorEvent = LinkEvent | AddrEvent | RouteEvent;

const LINK_RE = /^(\d+): ([^:@\s]+)(?:@\S+)?: <([^>]*)> (.*)$/;
const ADDR_RE = /^(\d+): (\S+)\s+(inet6?) (.*)$/;
const ROUTE_TYPES = new Set(['local', 'broadcast', 'unreachable', 'blackhole', 'prohibit', 'throw', 'multicast', 'anycast', 'unicast', 'nat']);
const DOWN_STATES = new Set(['DOWN', 'LOWERLAYERDOWN', 'NOTPRESENT']);

/** True when a link with these flags and operational state can carry packets. */
export function isLinkUp(flags: readonly string[], state: string): boolean {
  return flags.includes('UP') && flags.includes('LOWER_UP') && !DOWN_STATES.has(state);
}

/** Parses one line of `ip -o monitor link address route`; returns null for lines it does not understand. */
export function parseMonitorLine(raw: string): MonitorEvent | null {
  // Tolerate `-ts` timestamps and `[LINK]`-style object prefixes some ip versions print.
  let line = raw.replace(/^(\[[^\]]*\]\s*)+/, '').trimEnd();
  const deleted = line.startsWith('Deleted ');
  if (deleted) line = line.slice('Deleted '.length);
  const head = line.split('\\')[0]?.trim() ?? '';
  if (head === '') return null;
  return parseLink(head, deleted) ?? parseAddr(head, deleted) ?? parseRoute(head, deleted);
}

function parseLink(head: string, deleted: boolean): LinkEvent | null {
  const m = LINK_RE.exec(head);
  if (!m) return null;
  const flags = (m[3] ?? '').split(',').filter(Boolean);
  const state = /\bstate (\S+)/.exec(m[4] ?? '')?.[1] ?? 'UNKNOWN';
  const adminUp = flags.includes('UP');
  const up = isLinkUp(flags, state);
  return { kind: 'link', deleted, ifindex: Number(m[1]), ifname: m[2] ?? '', flags, state, adminUp, up };
}

function parseAddr(head: string, deleted: boolean): AddrEvent | null {
  const m = ADDR_RE.exec(head);
  if (!m) return null;
  const tokens = (m[4] ?? '').split(/\s+/);
  const [address = '', plen] = (tokens[0] ?? '').split('/');
  let prefixlen = plen === undefined ? (m[3] === 'inet6' ? 128 : 32) : Number(plen);
  let peer: string | undefined;
  if (tokens[1] === 'peer' && tokens[2] !== undefined) {
    const [p = '', pl] = tokens[2].split('/');
    peer = p;
    if (pl !== undefined) prefixlen = Number(pl);
  }
  const at = tokens.indexOf('scope');
  const scope = at >= 0 ? (tokens[at + 1] ?? 'global') : 'global';
  const tentative = tokens.includes('tentative') || tokens.includes('dadfailed');
  const event: AddrEvent = {
    kind: 'addr', deleted, ifindex: Number(m[1]), ifname: m[2] ?? '',
    family: m[3] as 'inet' | 'inet6', address, prefixlen, scope, tentative,
  };
  if (peer !== undefined) event.peer = peer;
  return event;
}

function parseRoute(head: string, deleted: boolean): RouteEvent | null {
  const tokens = head.split(/\s+/);
  let type = 'unicast';
  if (ROUTE_TYPES.has(tokens[0] ?? '')) type = tokens.shift() ?? type;
  const dst = tokens.shift();
  if (dst === undefined || !/^(default|[0-9a-fA-F:.]+(\/\d+)?)$/.test(dst)) return null;
  const value = (key: string): string | undefined => {
    const i = tokens.indexOf(key);
    return i >= 0 ? tokens[i + 1] : undefined;
  };
  const via = value('via');
  const inet6 = dst.includes(':') || (via?.includes(':') ?? false) || tokens.includes('pref');
  const event: RouteEvent = {
    kind: 'route', deleted, family: inet6 ? 'inet6' : 'inet', type, dst,
    table: value('table') ?? 'main', linkdown: tokens.includes('linkdown'),
  };
  const dev = value('dev');
  if (dev !== undefined) event.dev = dev;
  if (via !== undefined) event.via = via;
  return event;
}
