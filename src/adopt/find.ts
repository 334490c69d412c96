// Finds the processes to adopt: by pid, by executable, or by a config rule, each with its descendants.
import { realpath, readFile } from 'node:fs/promises';
import path from 'node:path/posix';
import psList from 'ps-list';
import { badInput } from './errors.js';
import { describeRule, matches, type MatchRule, type ProcInfo } from './match.js';
import { isKernelThread, parsePasswd, readExe, readStat, readStatus, withDescendants } from './proc.js';

/** Where to look and what never to adopt. */
export interface FindOptions {
  /** The daemon's own pid (default: this process); it and its subtree are never adopted. */
  self?: number;
  /** More pids to leave out with their subtrees (e.g. processes already in a ksapp group). */
  exclude?: Iterable<number>;
  /** For tests: another /proc. */
  procRoot?: string;
  /** For tests: another /etc/passwd. */
  passwdFile?: string;
}

/** The processes found: the matched ones, and every pid to move (them and their descendants, parents first). */
export interface Found {
  roots: number[];
  pids: number[];
}

function skipSet(options: FindOptions): Set<number> {
  return new Set([options.self ?? process.pid, 1, ...(options.exclude ?? [])]);
}

/** Validates a pid given by the user (exists, not pid 1, not ourselves, not a kernel thread) and returns it with its descendants. */
export async function findByPid(pid: number, options: FindOptions = {}): Promise<Found> {
  const procRoot = options.procRoot ?? '/proc';
  const self = options.self ?? process.pid;
  if (!Number.isSafeInteger(pid) || pid <= 0) throw badInput('ADOPT_BAD_PID', `invalid pid ${pid}`, 'give a positive process id');
  if (pid === 1) throw badInput('ADOPT_PID_ONE', 'refusing to adopt pid 1 (init): it would confine the whole system', 'give the pid of the app itself');
  const stat = await readStat(pid, procRoot);
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') {
    throw badInput('ADOPT_NO_SUCH_PID', `no process ${pid} is running`, 'check the pid with `ps -p PID`; the app may have exited');
  }
  if (isKernelThread(stat)) {
    throw badInput('ADOPT_KERNEL_THREAD', `process ${pid} (${stat.comm}) is a kernel thread, which has no sockets of its own to confine`, 'give the pid of a user-space process');
  }
  // A thread id also resolves under /proc; cgroup.procs moves whole processes, so work on the thread group.
  const tgid = (await readStatus(pid, procRoot))?.tgid ?? pid;
  if (tgid === self) throw badInput('ADOPT_SELF', `process ${pid} is the ksapp daemon itself`, 'give the pid of the app to protect');
  const pids = await withDescendants([tgid], skipSet(options), procRoot);
  if (pids.length === 0) throw badInput('ADOPT_NO_SUCH_PID', `process ${pid} cannot be adopted`, 'give the pid of the app itself');
  return { roots: [tgid], pids };
}

/** Finds every running instance of an executable (an absolute path) with its descendants; ADOPT_NO_MATCH if none runs. */
export async function findByExe(exe: string, options: FindOptions = {}): Promise<Found> {
  if (!path.isAbsolute(exe)) {
    throw badInput('ADOPT_BAD_EXE', `the executable must be an absolute path, got "${exe}"`, 'give the full path, e.g. /usr/bin/qbittorrent (see `command -v NAME`)');
  }
  return findByRule({ exe }, options);
}

/** Finds the processes matching a rule, with their descendants; ADOPT_NO_MATCH if none runs. */
export async function findByRule(rule: MatchRule, options: FindOptions = {}): Promise<Found> {
  const procs = await findMatching(rule, options);
  if (procs.length === 0) {
    throw badInput('ADOPT_NO_MATCH', `no running process matches ${describeRule(rule)}`, 'start the app first, or check the path/name with `ps -eo pid,comm,args`');
  }
  const matched = new Set(procs.map((p) => p.pid));
  const parents = new Map(procs.map((p) => [p.pid, p.ppid]));
  // A match whose parent also matched comes along as a descendant; keep the top-most as roots.
  const roots = procs.filter((p) => !matched.has(parents.get(p.pid) ?? -1)).map((p) => p.pid);
  return { roots, pids: await withDescendants(roots, skipSet(options), options.procRoot) };
}

/** The running processes matching a rule (possibly none), never pid 1, the daemon or a kernel thread. */
export async function findMatching(rule: MatchRule, options: FindOptions = {}): Promise<ProcInfo[]> {
  const resolved = await resolveRule(rule, options.passwdFile);
  const skip = skipSet(options);
  const procRoot = options.procRoot ?? '/proc';
  const users = await readUsers(options.passwdFile);
  const found: ProcInfo[] = [];
  for (const p of await psList({ all: true })) {
    if (skip.has(p.pid) || p.pid === 2 || p.ppid === 2) continue;
    const exe = await readExe(p.pid, procRoot);
    const info: ProcInfo = { pid: p.pid, ppid: p.ppid, name: p.name, uid: p.uid, user: p.uid === undefined ? undefined : users.get(p.uid), exe };
    if (!matches(info, resolved)) continue;
    const stat = await readStat(p.pid, procRoot);
    if (stat === undefined || stat.state === 'Z' || isKernelThread(stat)) continue;
    found.push({ ...info, name: stat.comm, ppid: stat.ppid });
  }
  return found;
}

/** Checks a rule and resolves what /proc reports resolved: the exe's symlinks and a user name's uid. */
export async function resolveRule(rule: MatchRule, passwdFile?: string): Promise<MatchRule> {
  if (rule.exe === undefined && rule.name === undefined && rule.user === undefined) {
    throw badInput('ADOPT_BAD_RULE', 'an app rule needs at least one of exe, name, user', 'add e.g. `exe: /usr/bin/qbittorrent` to the rule');
  }
  const out: MatchRule = { ...rule };
  if (rule.exe !== undefined) {
    if (!path.isAbsolute(rule.exe)) throw badInput('ADOPT_BAD_EXE', `exe must be an absolute path, got "${rule.exe}"`, 'give the full path, e.g. /usr/bin/qbittorrent');
    // /proc/PID/exe shows the real file; a deleted or not-yet-installed file keeps its path as given.
    out.exe = await realpath(rule.exe).catch(() => path.normalize(rule.exe!));
  }
  if (typeof rule.user === 'string' && !/^\d+$/.test(rule.user)) {
    const byName = new Map([...(await readUsers(passwdFile))].map(([uid, name]) => [name, uid]));
    const uid = byName.get(rule.user);
    if (uid === undefined) throw badInput('ADOPT_NO_SUCH_USER', `no user named "${rule.user}"`, 'give an existing user name or a numeric uid');
    out.user = uid;
  }
  return out;
}

/** User names by uid from /etc/passwd (the first name of a uid wins). */
async function readUsers(passwdFile = '/etc/passwd'): Promise<Map<number, string>> {
  const text = await readFile(passwdFile, 'utf8').catch(() => '');
  const byUid = new Map<number, string>();
  for (const [name, uid] of parsePasswd(text)) if (!byUid.has(uid)) byUid.set(uid, name);
  return byUid;
}
