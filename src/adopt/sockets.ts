// Sockets an app opened before adoption keep the cgroup they were created in, so the firewall's
// `socket cgroupv2` match does not see them. This module finds them, destroys what can be destroyed,
// marks with the app's firewall mark what cannot (mark.ts), and says which ones are still outside
// the app's protection (the caller then keeps the app frozen).
//
// What SOCK_DESTROY (`ss -K`) does on this kernel (6.18, CONFIG_INET_DIAG_DESTROY=y), tested:
// - TCP (v4, v6), connected or listening: aborted (ECONNABORTED), unhashed, cannot send again.
// - UDP (v4, v6): only disconnected and unbound. The fd stays usable and the next sendto() binds it
//   again, still in its old cgroup, so a destroyed UDP socket that is still open is unprotected.
// - raw, ICMP (ping), UDP-Lite, packet sockets: not destroyable here (ss lists raw sockets without an
//   inode, the others not at all); unix and netlink sockets carry no IP traffic and are left alone.
//
// Every connection accepted on an old listener inherits the listener's old cgroup, so inbound
// connections would bypass the app's rules. With a mark to give (and tcp_fwmark_accept off) a
// listener is left open and marked: what it accepts inherits the mark. Otherwise it is destroyed and
// returned in `listenersClosed`, because the app stops accepting until it is restarted.
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path/posix';
import { setTimeout as delay } from 'node:timers/promises';
import { cgroupRoot, type Cgroup } from '../../cgroups/index.js';
import { tableKinds, type TableHit } from './net-tables.js';
import { readStat, socketFds } from './proc.js';
import { destroySockets, listSockets, tupleKey, type SsSocket, type SsTools } from './ss.js';
import { afterMarking, classify, markable, type SocketReport } from './socket-outcome.js';
import { markSockets } from './mark.js';

export type { SocketOutcome, SocketReport } from './socket-outcome.js';

/** What closeOldSockets found and did. */
export interface CloseResult {
  /** Every socket the app held at the start. */
  sockets: SocketReport[];
  /** Sockets still outside the app's group: while this is not empty the app is not protected. */
  unprotected: SocketReport[];
  /** Listening sockets that were destroyed: the app no longer accepts connections until restarted. */
  listenersClosed: SocketReport[];
}

/** Options of closeOldSockets. */
export interface CloseOptions extends SsTools {
  /** The cgroup2 mount (default: found by cgroupRoot()). */
  root?: string;
  procRoot?: string;
  /** False: only report (e.g. a unit protected in place whose sockets systemd created). Default true. */
  destroy?: boolean;
  /** Time the app gets after the destroy to close what it was told is dead, before the final check. Default 0. */
  graceMs?: number;
  /** The app's firewall mark: sockets that stay outside the group and can take a mark get it (see mark.ts). */
  mark?: number;
}

/** Finds the sockets of every process in `group` that belong to another cgroup, destroys them, and reports. */
export async function closeOldSockets(group: Cgroup, options: CloseOptions = {}): Promise<CloseResult> {
  const root = options.root ?? (await cgroupRoot());
  const procRoot = options.procRoot ?? '/proc';
  const appCg = '/' + path.relative(root, group.path);
  const inApp = (cg?: string): boolean => cg !== undefined && (cg === appCg || cg.startsWith(appCg + '/'));
  const held = await heldSockets(await group.allPids(), procRoot);
  const seen = new Map<number, SsSocket>();
  const kinds = new Map<number, TableHit>();
  const killed = new Set<number>();
  const refused = new Map<number, string>();
  const markListeners = options.mark !== undefined && (await listenersKeepTheirMark());
  for (const [nsPid, inodes] of await byNetns(held, procRoot)) {
    const listing = await listSockets(nsPid, options);
    for (const s of listing) if (inodes.has(s.inode)) seen.set(s.inode, s);
    const outside = listing.filter((s) => inodes.has(s.inode) && !inApp(s.cgroup));
    // A marked listener keeps accepting, through the tunnel only: marked below instead of destroyed.
    const keep = outside.filter((s) => markListeners && s.netid === 'tcp' && s.state === 'LISTEN');
    for (const s of keep) refused.set(s.inode, 'left open to be marked');
    const targets = outside.filter((s) => !keep.includes(s));
    if (options.destroy !== false) await destroyIn(nsPid, targets, shared(listing, inodes), options, killed, refused);
    const unlisted = new Set([...inodes].filter((i) => !seen.has(i)));
    if (unlisted.size === 0) continue;
    // Elsewhere a socket may come from: the parent's namespace, init's, the daemon's.
    const parent = (await readStat(nsPid, procRoot))?.ppid;
    const candidates = [...(parent === undefined ? [] : [parent]), 1, process.pid];
    for (const [inode, hit] of await tableKinds(nsPid, candidates, unlisted, procRoot)) kinds.set(inode, hit);
  }
  // The grace lets an app replace what was destroyed; with nothing destroyed there is nothing to wait for.
  if ((options.graceMs ?? 0) > 0 && killed.size > 0) await delay(options.graceMs);
  const stillHeld = await heldSockets(await group.allPids(), procRoot);
  let sockets = [...held].map(([inode, pids]) =>
    classify({ inode, pids, socket: seen.get(inode), hit: kinds.get(inode), killed: killed.has(inode), refused: refused.get(inode), stillHeld: stillHeld.has(inode), inApp, destroy: options.destroy !== false }));
  if (options.mark !== undefined) {
    const candidates = sockets.filter(markable);
    const marks = await markSockets(new Map(candidates.map((r) => [r.inode, r.pids])), options.mark, procRoot);
    sockets = sockets.map((r) => (marks.has(r.inode) ? afterMarking(r, marks.get(r.inode)!) : r));
  }
  return {
    sockets,
    unprotected: sockets.filter((s) => s.outcome === 'unprotected'),
    listenersClosed: sockets.filter((s) => s.listening && s.outcome === 'aborted'),
  };
}

/**
 * Whether connections a listener accepts inherit its socket mark: they do unless tcp_fwmark_accept is on,
 * which gives them the mark of the incoming SYN instead (none, for a connection from the tunnel).
 */
async function listenersKeepTheirMark(): Promise<boolean> {
  return (await readFile('/proc/sys/net/ipv4/tcp_fwmark_accept', 'utf8').catch(() => '1')).trim() === '0';
}

/** Tuples that a socket outside the app also has: a filter on them would hit that socket too. */
function shared(listing: readonly SsSocket[], ours: ReadonlySet<number>): Set<string> {
  return new Set(listing.filter((s) => s.inode > 0 && !ours.has(s.inode)).map(tupleKey));
}

async function destroyIn(nsPid: number, targets: readonly SsSocket[], sharedKeys: ReadonlySet<string>, tools: SsTools,
  killed: Set<number>, refused: Map<number, string>): Promise<void> {
  for (const netid of ['tcp', 'udp'] as const) {
    const mine: SsSocket[] = [];
    for (const s of targets.filter((t) => t.netid === netid)) {
      if (sharedKeys.has(tupleKey(s))) refused.set(s.inode, 'another process has a socket with the same addresses and ports (SO_REUSEPORT), so it cannot be destroyed alone');
      else mine.push(s);
    }
    try {
      for (const inode of await destroySockets(nsPid, netid, mine, tools)) killed.add(inode);
    } catch (error) {
      for (const s of mine) refused.set(s.inode, `ss -K failed: ${(error as Error).message}`);
    }
  }
}

/** Socket inodes held by the processes, with the pids holding each. */
export async function heldSockets(pids: readonly number[], procRoot = '/proc'): Promise<Map<number, number[]>> {
  const held = new Map<number, number[]>();
  for (const { pid, inode } of await socketFds(pids, procRoot)) {
    const holders = held.get(inode) ?? [];
    if (!holders.includes(pid)) holders.push(pid);
    held.set(inode, holders);
  }
  return held;
}

/** Groups the inodes by the network namespace of their holders, keyed by one pid inside it. */
async function byNetns(held: ReadonlyMap<number, number[]>, procRoot: string): Promise<Map<number, Set<number>>> {
  const nsPidOf = new Map<string, number>();
  const out = new Map<number, Set<number>>();
  for (const [inode, pids] of held) {
    const pid = pids[0]!;
    const ns = await readlink(`${procRoot}/${pid}/ns/net`).catch(() => `gone:${pid}`);
    const nsPid = nsPidOf.get(ns) ?? pid;
    nsPidOf.set(ns, nsPid);
    out.set(nsPid, (out.get(nsPid) ?? new Set()).add(inode));
  }
  return out;
}
