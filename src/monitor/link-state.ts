// Pure bookkeeping of one watched interface, fed by a snapshot and then by monitor events.
// The interface is followed by ifindex: a rename keeps the ifindex, a re-created
// interface with the same name gets a new one (and needs a fresh snapshot).
import { isLinkUp, type MonitorEvent } from './ip-monitor-parse.js';
import type { LinkSnapshot } from './link-snapshot.js';

/** What the link source believes about the watched interface. */
export interface LinkState {
  iface: string;
  ifindex: number | null;
  /** Why the interface is gone: it never existed, was deleted, or renamed (to `name`). */
  gone: null | 'missing' | 'deleted' | 'renamed';
  name: string;
  adminUp: boolean;
  up: boolean;
  state: string;
  /** Usable addresses, as `family address/prefixlen`. */
  addrs: Set<string>;
  hadAddr: boolean;
}

/** Outcome of applying one event: ignore it, re-evaluate health, or take a fresh snapshot. */
export type ApplyResult = 'ignored' | 'changed' | 'resync';

const usable = (a: { scope: string; tentative: boolean }): boolean => !a.tentative && a.scope !== 'link' && a.scope !== 'host';
const key = (a: { family: string; address: string; prefixlen: number }): string => `${a.family} ${a.address}/${a.prefixlen}`;

/** Builds the state from a snapshot (null = the interface does not exist). */
export function stateFromSnapshot(iface: string, snap: LinkSnapshot | null): LinkState {
  const addrs = new Set((snap?.addrs ?? []).filter(usable).map(key));
  return {
    iface, ifindex: snap?.ifindex ?? null, gone: snap ? null : 'missing', name: snap?.ifname ?? iface,
    adminUp: snap?.flags.includes('UP') ?? false, up: snap ? isLinkUp(snap.flags, snap.operstate) : false,
    state: snap?.operstate ?? 'NOTPRESENT', addrs, hadAddr: addrs.size > 0,
  };
}

/** Applies one monitor event to the state (mutating it) and says what follows. */
export function applyEvent(s: LinkState, e: MonitorEvent): ApplyResult {
  if (e.kind === 'route') return 'ignored';
  if (e.kind === 'link') {
    if (e.ifindex !== s.ifindex) {
      // Another ifindex now carries our name: re-created, or something renamed onto it.
      return !e.deleted && e.ifname === s.iface && s.gone !== null ? 'resync' : 'ignored';
    }
    if (e.deleted) s.gone = 'deleted';
    else {
      s.name = e.ifname;
      s.gone = e.ifname === s.iface ? null : 'renamed';
      s.adminUp = e.adminUp;
      s.up = e.up;
      s.state = e.state;
    }
    return 'changed';
  }
  if (e.ifindex !== s.ifindex) return 'ignored';
  const k = key(e);
  if (e.deleted || !usable(e)) s.addrs.delete(k);
  else s.addrs.add(k);
  if (s.addrs.size > 0) s.hadAddr = true;
  return 'changed';
}

/** Judges the state: every reason here is a hard signal. */
export function linkHealth(s: LinkState): { healthy: boolean; reason: string } {
  const bad = (reason: string) => ({ healthy: false, reason });
  if (s.gone === 'missing') return bad(`${s.iface} does not exist`);
  if (s.gone === 'deleted') return bad(`${s.iface} deleted`);
  if (s.gone === 'renamed') return bad(`${s.iface} renamed to ${s.name}`);
  if (!s.adminUp) return bad(`${s.iface} set down`);
  if (!s.up) return bad(`${s.iface} has no carrier`);
  if (s.addrs.size === 0) return bad(s.hadAddr ? `${s.iface} lost all its addresses` : `${s.iface} has no address`);
  return { healthy: true, reason: `${s.iface} up with ${s.addrs.size} address${s.addrs.size === 1 ? '' : 'es'}` };
}
