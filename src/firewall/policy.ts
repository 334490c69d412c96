/**
 * The firewall policy: everything the ruleset needs to know, as plain data.
 * The ruleset is a pure function of this value, so the same policy always
 * yields the same table.
 */
import { LAN_RANGES, splitFamilies } from '../config/ip.js';

/** A cgroup as nft sees it: path relative to /sys/fs/cgroup and its depth below the cgroup2 root. */
export interface CgroupRef {
  /** Path as `socket cgroupv2` takes it, e.g. `unified/ksapp/qbittorrent` on a hybrid mount. */
  readonly nftPath: string;
  /** Depth counted from the cgroup2 root (`/ksapp` is 1). */
  readonly level: number;
}

/** One protected app. */
export interface AppRule {
  /** Small positive integer, unique per app; it becomes the low 16 bits of the packet mark. */
  readonly id: number;
  /** Human name, used for counter names in comments only. */
  readonly name: string;
  /** The app's own cgroup (a child of the parent). */
  readonly cgroup: CgroupRef;
  /** Let this app reach LAN ranges directly, outside the tunnel (DNS still goes to the tunnel). */
  readonly allowLan: boolean;
  /** Drop every packet of this app, even into the tunnel (the `block` policy while the tunnel is down). */
  readonly blocked: boolean;
  /** The slot of the tunnel it rides now (0, the primary, when absent). */
  readonly slot?: number;
  /** Ranges this app alone may reach directly (beside the policy's `allow`). */
  readonly allow?: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  /** Addresses its allowlisted names resolve to, each for the rest of its record's life. */
  readonly allowNamed?: NamedAddresses;
  /** Traffic this host routes for it (a container, a VM, LAN hosts): matched by where it comes in, not by a socket. */
  readonly forwarded?: readonly ForwardedRule[];
}

/**
 * A forwarded source: packets arriving on `iface`, from these addresses or
 * MACs (all of the interface's when none is given). They reach this host with
 * no local socket, so the cgroup match never sees them.
 */
export interface ForwardedRule {
  readonly iface: string;
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  readonly macs?: readonly string[];
  /** Every IPv6 packet from the interface too: hosts given by IPv4 alone must not escape by their own global IPv6 addresses. */
  readonly v6All?: boolean;
}

/** Addresses allowed for a while (a resolved name's), by family. */
export interface NamedAddresses {
  readonly v4: ReadonlyArray<{ readonly addr: string; readonly timeoutMs: number }>;
  readonly v6: ReadonlyArray<{ readonly addr: string; readonly timeoutMs: number }>;
}

/** A tunnel inside another: where its endpoints are, and the only interface they may be reached by. */
export interface HopGuard {
  readonly inner: string;
  readonly outer: string;
  /** `addr:port` (`[v6]:port`), as WireGuard reports its peers' endpoints. */
  readonly endpoints: readonly string[];
}

/** A tunnel besides the primary: its own slot of the mark space, routing table and resolvers. */
export interface TunnelRule {
  readonly iface: string;
  /** 1 … MAX_TUNNELS - 1 (0 is the primary). */
  readonly slot: number;
  /** Resolvers inside this tunnel; its apps' DNS goes there (the policy's `dns` when empty). */
  readonly dns: { readonly v4: readonly string[]; readonly v6: readonly string[] };
}

/** The whole policy for table `inet ksapp`. */
export interface FirewallPolicy {
  /** The primary tunnel (slot 0); null blocks everything protected that rides it. */
  readonly tunnelIface: string | null;
  /** More tunnels apps may ride; each app's packets may leave only through its own. */
  readonly tunnels?: readonly TunnelRule[];
  /** Multi-hop: an inner tunnel's own packets to its endpoints may leave only through its outer tunnel. */
  readonly hopGuards?: readonly HopGuard[];
  /** The ksapp cgroup parent: one catch-all rule confines everything below it. */
  readonly parent: CgroupRef;
  /** Apps with their own counters and options. */
  readonly apps: readonly AppRule[];
  /** Resolvers inside the tunnel that protected apps' DNS is rewritten to. */
  readonly dns: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  /** Ranges every app may reach directly, outside the tunnel, also while blocked (never DNS). */
  readonly allow?: { readonly v4: readonly string[]; readonly v6: readonly string[] };
  /** Addresses of the names every app may reach directly, each for the rest of its record's life. */
  readonly allowNamed?: NamedAddresses;
  /** Ranges an app with allowLan may reach directly. */
  readonly lan: { readonly v4: readonly string[]; readonly v6: readonly string[] };
}

/**
 * Packet mark layout: high 16 bits say "protected"; then 4 bits name the
 * tunnel's slot (0 = the primary) and 12 bits the app (0 = caught by the
 * parent rule).
 */
export const MARK_BASE = 0x6b730000;
/** Mask selecting the "protected" half of the mark. */
export const MARK_MASK = 0xffff0000;
/** Mask selecting "protected" and the tunnel slot. */
export const SLOT_MASK = 0xfffff000;
/** Routing table and ip-rule priority used for protected traffic of the primary tunnel. */
export const ROUTE_TABLE = 27507;
/** Tunnels one daemon can steer to (slots 0 … 15). */
export const MAX_TUNNELS = 16;

/** The routing table of a tunnel slot: ROUTE_TABLE + slot. */
export function tableFor(slot: number): number {
  return ROUTE_TABLE + slot;
}

/** The ip-rule priority of a tunnel slot: below the primary's catch-all rule, so it is looked at first. */
export function rulePriorityFor(slot: number): number {
  return ROUTE_TABLE - slot;
}

/** The mark of every packet riding a tunnel slot, app bits clear. */
export function slotMark(slot: number): number {
  return (MARK_BASE | ((slot & 0xf) << 12)) >>> 0;
}

/** Default LAN ranges (RFC 1918, link-local, multicast; ULA, link-local and multicast for IPv6). */
export const DEFAULT_LAN: { readonly v4: readonly string[]; readonly v6: readonly string[] } = splitFamilies(LAN_RANGES);

/** The mark carried by packets of app `id` (0 for the parent catch-all) riding tunnel `slot`. */
export function markFor(id: number, slot = 0): number {
  return (slotMark(slot) | (id & 0xfff)) >>> 0;
}

/** Largest app id the mark layout can carry. */
export const MAX_APP_ID = 0xfff;
