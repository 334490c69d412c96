// Small readers and pure parsers of /proc, shared by find, move, sockets and exec-watch.
import { parseAccounts } from '../users.js';
import { readdir, readFile, readlink } from 'node:fs/promises';

/** The kernel's PF_KTHREAD bit in the flags field of /proc/PID/stat. */
export const PF_KTHREAD = 0x00200000;

/** What /proc/PID/stat says about a process. */
export interface ProcStat {
  pid: number;
  /** The kernel's short name (comm), at most 15 characters. */
  comm: string;
  /** One-letter state: R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  flags: number;
  /** Start time in clock ticks since boot. */
  startTicks: number;
}

/** Parses /proc/PID/stat; comm may hold spaces and parentheses, so it ends at the last ')'. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return undefined;
  const rest = text.slice(close + 2).trim().split(' ');
  const pid = Number(text.slice(0, open).trim());
  const [state, ppid, flags, start] = [rest[0], Number(rest[1]), Number(rest[6]), Number(rest[19])];
  if (!Number.isSafeInteger(pid) || !state || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(flags)) return undefined;
  return { pid, comm: text.slice(open + 1, close), state, ppid, flags, startTicks: Number.isSafeInteger(start) ? start : 0 };
}

/** True for kernel threads: PF_KTHREAD set, or kthreadd (pid 2) and its children as a fallback. */
export function isKernelThread(stat: ProcStat): boolean {
  return (stat.flags & PF_KTHREAD) !== 0 || stat.pid === 2 || stat.ppid === 2;
}

/** The thread-group id and real uid from /proc/PID/status. */
export function parseStatus(text: string): { tgid?: number; uid?: number } {
  const tgid = /^Tgid:\s*(\d+)/m.exec(text)?.[1];
  const uid = /^Uid:\s*(\d+)/m.exec(text)?.[1];
  return { tgid: tgid === undefined ? undefined : Number(tgid), uid: uid === undefined ? undefined : Number(uid) };
}

/** Splits a /proc/PID/exe link target into the path and whether the file was deleted (replaced by an upgrade). */
export function parseExeLink(link: string): { path: string; deleted: boolean } {
  const deleted = link.endsWith(' (deleted)');
  return { path: deleted ? link.slice(0, -' (deleted)'.length) : link, deleted };
}

/** The inode of a `socket:[N]` fd link, or undefined for any other kind of file. */
export function parseSocketLink(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Every socket descriptor the processes hold: pid, fd number and socket inode (vanished processes are skipped). */
export async function socketFds(pids: readonly number[], procRoot = '/proc'): Promise<Array<{ pid: number; fd: number; inode: number }>> {
  const out: Array<{ pid: number; fd: number; inode: number }> = [];
  for (const pid of pids) {
    const dir = `${procRoot}/${pid}/fd`;
    for (const fd of await readdir(dir).catch(() => [] as string[])) {
      const inode = parseSocketLink(await readlink(`${dir}/${fd}`).catch(() => ''));
      if (inode !== undefined) out.push({ pid, fd: Number(fd), inode });
    }
  }
  return out;
}

/** Parses /etc/passwd into uid by user name (the first entry of a name wins, as getpwnam does). */
export function parsePasswd(text: string): Map<string, number> {
  const users = new Map<string, number>();
  for (const a of parseAccounts(text)) if (!users.has(a.name)) users.set(a.name, a.uid);
  return users;
}

/** Reads and parses /proc/PID/stat; undefined when the process is gone. */
export async function readStat(pid: number, procRoot = '/proc'): Promise<ProcStat | undefined> {
  return readFile(`${procRoot}/${pid}/stat`, 'utf8').then(parseStat, () => undefined);
}

/** Reads /proc/PID/status's tgid and uid; undefined when the process is gone. */
export async function readStatus(pid: number, procRoot = '/proc'): Promise<{ tgid?: number; uid?: number } | undefined> {
  return readFile(`${procRoot}/${pid}/status`, 'utf8').then(parseStatus, () => undefined);
}

/** The executable of a process, " (deleted)" removed; undefined for kernel threads, gone or unreadable processes. */
export async function readExe(pid: number, procRoot = '/proc'): Promise<string | undefined> {
  return readlink(`${procRoot}/${pid}/exe`).then((link) => parseExeLink(link).path, () => undefined);
}

/** The pids (thread-group ids) in /proc. */
export async function listPids(procRoot = '/proc'): Promise<number[]> {
  const names = await readdir(procRoot);
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Direct children of a process, from every thread's `children` file (a child belongs to the thread that forked it). */
export async function childPids(pid: number, procRoot = '/proc'): Promise<number[]> {
  const tids = await readdir(`${procRoot}/${pid}/task`).catch(() => [] as string[]);
  const kids = new Set<number>();
  for (const tid of tids) {
    const text = await readFile(`${procRoot}/${pid}/task/${tid}/children`, 'utf8').catch(() => '');
    for (const word of text.split(/\s+/)) if (/^\d+$/.test(word)) kids.add(Number(word));
  }
  return [...kids];
}

/** The processes and all their descendants, parents before children, each once; `skip` subtrees are left out. */
export async function withDescendants(roots: readonly number[], skip: ReadonlySet<number>, procRoot = '/proc'): Promise<number[]> {
  const seen = new Set<number>();
  const order: number[] = [];
  const queue = roots.filter((p) => !skip.has(p));
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    order.push(pid);
    for (const kid of await childPids(pid, procRoot)) if (!skip.has(kid) && !seen.has(kid)) queue.push(kid);
  }
  return order;
}
