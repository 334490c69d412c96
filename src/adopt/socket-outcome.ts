// The verdict on one socket after closeOldSockets: pure, so each rule is tested on literals.
import type { TableHit, TableKind } from './net-tables.js';
import type { SsSocket } from './ss.js';

/** confined: created in the app's group; closed: the app no longer holds it; aborted: a destroyed TCP socket (dead);
 * marked: outside the app's group but carrying the app's firewall mark (tunnel or nowhere); ignored: not an IP
 * socket; unprotected: can still send from outside the app's group. */
export type SocketOutcome = 'confined' | 'closed' | 'aborted' | 'marked' | 'ignored' | 'unprotected';

/** One socket the app held, and what became of it. */
export interface SocketReport {
  inode: number;
  /** The app's processes holding it. */
  pids: number[];
  kind: 'tcp' | 'udp' | TableKind | 'unknown';
  state?: string;
  /** `addr:port`, when ss listed it. */
  local?: string;
  peer?: string;
  listening: boolean;
  outcome: SocketOutcome;
  /** Why, in words for the user. */
  reason: string;
}

/** What is known about one socket. */
export interface SocketFacts {
  inode: number;
  pids: number[];
  /** Its ss line before the destroy, if ss lists it. */
  socket?: SsSocket;
  /** Its /proc/net table when ss does not list it. */
  hit?: TableHit;
  killed: boolean;
  refused?: string;
  stillHeld: boolean;
  inApp: (cgroup?: string) => boolean;
  destroy: boolean;
}

const fmt = (e: { addr: string; port: number }, family: 4 | 6): string => (family === 6 ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`);

/** Decides the outcome of one socket from the facts. */
export function classify(f: SocketFacts): SocketReport {
  const s = f.socket;
  const base = {
    inode: f.inode, pids: f.pids, kind: s?.netid ?? f.hit?.kind ?? 'unknown', listening: s?.state === 'LISTEN',
    ...(s ? { state: s.state, local: fmt(s.local, s.family), peer: fmt(s.peer, s.family) } : {}),
  } as const;
  const verdict = (outcome: SocketOutcome, reason: string): SocketReport => ({ ...base, outcome, reason });
  const notKilled = f.refused ?? (f.destroy ? 'ss -K did not destroy it (does the kernel have CONFIG_INET_DIAG_DESTROY?)' : 'not destroyed (check only)');
  if (!f.stillHeld) return verdict('closed', 'the app closed it');
  if (s && f.inApp(s.cgroup)) return verdict('confined', "created inside the app's group");
  if (s?.netid === 'tcp') {
    return f.killed ? verdict('aborted', 'destroyed: the connection was reset and the socket cannot send again') : verdict('unprotected', notKilled);
  }
  if (s?.netid === 'udp') {
    return verdict('unprotected', f.killed
      ? 'destroyed, but a UDP socket stays usable: its next sendto() binds it again, still in its old cgroup; restart the app'
      : notKilled);
  }
  const kind = f.hit?.kind;
  if (kind === 'unix' || kind === 'netlink') return verdict('ignored', 'not an IP socket');
  if (f.hit?.foreign) return verdict('unprotected', `a ${kind} socket of another network namespace, outside the app's group; restart the app`);
  if (kind === 'packet') return verdict('unprotected', 'a packet socket sends below IP routing and the firewall: neither ss -K nor a mark can confine it; restart the app');
  if (kind) return verdict('unprotected', `${kind} sockets cannot be destroyed (ss -K handles TCP and UDP only); restart the app`);
  return verdict('unprotected', 'not bound or connected yet (or of a family ss does not list): it would send from its old cgroup; restart the app');
}

/**
 * Whether marking can confine an unprotected socket: UDP, UDP-Lite, raw and ICMP sockets, and sockets not
 * bound yet (their first route lookup will carry the mark), and TCP listeners (the connections they
 * accept inherit the mark; closeOldSockets leaves them open for it only where that holds). Not a TCP
 * connection: it keeps the route it has, so a mark would only stall it; those are destroyed.
 */
export function markable(r: SocketReport): boolean {
  return r.outcome === 'unprotected' && (['udp', 'udplite', 'raw', 'icmp', 'unknown'].includes(r.kind) || (r.kind === 'tcp' && r.listening));
}

/** The report after an attempt to mark the socket (pure). */
export function afterMarking(r: SocketReport, result: { marked: true } | { marked: false; reason: string }): SocketReport {
  if (result.marked) {
    return { ...r, outcome: 'marked', reason: r.listening
      ? "opened before the adoption, now carries the app's firewall mark: it accepts connections through the tunnel only, and they inherit the mark"
      : "opened before the adoption, now carries the app's firewall mark: what it sends goes through the tunnel or nowhere" };
  }
  return { ...r, reason: `${r.reason}; marking it failed: ${result.reason}` };
}
