// iproute2's `ss`: list TCP/UDP sockets with inode and cgroup, and destroy chosen ones (SOCK_DESTROY).
import { runTool } from '../tools.js';

/** One TCP or UDP socket as `ss -H -O -e -n` prints it. */
export interface SsSocket {
  netid: 'tcp' | 'udp';
  family: 4 | 6;
  /** e.g. ESTAB, UNCONN, LISTEN. */
  state: string;
  local: { addr: string; port: number };
  peer: { addr: string; port: number };
  /** 0 for sockets no file refers to (TIME_WAIT, SYN_RECV). */
  inode: number;
  /** The socket's cgroup v2 path relative to the mount (the cgroup of the process that created it); undefined if not shown. */
  cgroup?: string;
}

/** Which programs to run; injectable for tests. */
export interface SsTools {
  ss?: string;
  nsenter?: string;
}

/** Parses `host:port` as ss prints it: `[v6]:p`, `*:p` (the dual-stack v6 wildcard), `a.b.c.d%dev:p`, `*` for port 0. */
export function parseEndpoint(text: string): { addr: string; port: number; family: 4 | 6 } | undefined {
  const m = /^(.*):(\*|\d+)$/.exec(text);
  if (!m) return undefined;
  let host = m[1]!.replace(/%[^%\]]*$/, '');
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  host = host.replace(/%.*$/, '');
  if (host === '*') host = '::';
  return { addr: host, port: m[2] === '*' ? 0 : Number(m[2]), family: host.includes(':') ? 6 : 4 };
}

/** Parses `ss -H -O -e -n` lines; the netid column is present with several types (-t -u) and absent with one (`netid` fills it). */
export function parseSsLines(text: string, netid?: 'tcp' | 'udp'): SsSocket[] {
  const out: SsSocket[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 5) continue;
    const id = /^[a-z]/.test(words[0]!) ? words.shift() : netid;
    if (id !== 'tcp' && id !== 'udp') continue;
    const [state, , , localText, peerText] = words;
    const local = parseEndpoint(localText ?? '');
    const peer = parseEndpoint(peerText ?? '');
    if (!state || !local || !peer) continue;
    const extras = words.slice(5).join(' ');
    const inode = Number(/(?:^| )ino:(\d+)/.exec(extras)?.[1] ?? 0);
    const cgroup = /(?:^| )cgroup:(\S+)/.exec(extras)?.[1];
    out.push({ netid: id, family: local.family, state, local: { addr: local.addr, port: local.port }, peer: { addr: peer.addr, port: peer.port }, inode, cgroup });
  }
  return out;
}

/** The ss filter term that selects exactly this socket's addresses and ports (`0.0.0.0`/`::` match only themselves). */
export function filterTerm(s: SsSocket): string {
  const ep = (e: { addr: string; port: number }): string => (s.family === 6 ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`);
  return `( src ${ep(s.local)} and dst ${ep(s.peer)} )`;
}

/** The key two sockets share when one filter term would select both. */
export function tupleKey(s: SsSocket): string {
  return `${s.netid}|${s.family}|${s.local.addr}|${s.local.port}|${s.peer.addr}|${s.peer.port}`;
}

function argvIn(nsPid: number, tools: SsTools, ssArgs: string[]): [string, string[]] {
  // ss sees the sockets of its own network namespace: enter the app's.
  return [tools.nsenter ?? 'nsenter', [`--net=/proc/${nsPid}/ns/net`, '--', tools.ss ?? 'ss', ...ssArgs]];
}

/** Every TCP and UDP socket (all states) in the network namespace of process `nsPid`. */
export async function listSockets(nsPid: number, tools: SsTools = {}): Promise<SsSocket[]> {
  const [file, args] = argvIn(nsPid, tools, ['-a', '-H', '-O', '-e', '-n', '-t', '-u']);
  return parseSsLines(await runTool(file, args));
}

/**
 * Destroys the sockets (one netid) in `nsPid`'s namespace with `ss -K`, the filter passed on stdin so
 * its size is not bounded by argv; returns the inodes ss reports as closed. ss silently skips a socket the
 * kernel refuses (EOPNOTSUPP without CONFIG_INET_DIAG_DESTROY), so the caller compares the inodes.
 */
export async function destroySockets(nsPid: number, netid: 'tcp' | 'udp', sockets: readonly SsSocket[], tools: SsTools = {}): Promise<Set<number>> {
  if (sockets.length === 0) return new Set();
  const [file, args] = argvIn(nsPid, tools, ['-K', '-a', '-H', '-O', '-e', '-n', netid === 'tcp' ? '-t' : '-u', '-F', '-']);
  const out = await runTool(file, args, sockets.map(filterTerm).join(' or ') + '\n');
  return new Set(parseSsLines(out, netid).map((s) => s.inode).filter((i) => i > 0));
}
