// The pure matcher of app rules (config `match: {exe, name, user}`), apart so it is tested on literals.
import path from 'node:path/posix';

/** A running process as the matcher sees it. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  /** The kernel's short name (comm), truncated by the kernel to 15 characters. */
  name: string;
  uid?: number;
  /** The owner's user name, when known. */
  user?: string;
  /** The executable's path, " (deleted)" already removed; undefined when unreadable. */
  exe?: string;
}

/** Which processes an app rule selects; every field given must match, and an empty rule matches nothing. */
export interface MatchRule {
  /** Absolute path of the executable (symlinks resolved by the caller, as /proc/PID/exe is). */
  exe?: string;
  /** The process name (comm) or the executable's file name. */
  name?: string;
  /** A user name or a numeric uid. */
  user?: string | number;
}

/** The kernel keeps 15 characters of a process name (TASK_COMM_LEN 16 with the NUL). */
const COMM_LEN = 15;

/** True when `proc` satisfies every field of `rule`; false for an empty rule (it must never select everything). */
export function matches(proc: ProcInfo, rule: MatchRule): boolean {
  if (rule.exe === undefined && rule.name === undefined && rule.user === undefined) return false;
  if (!exeMatches(proc.exe, rule)) return false;
  if (rule.name !== undefined && !nameMatches(proc, rule.name)) return false;
  if (rule.user !== undefined && !userMatches(proc, rule.user)) return false;
  return true;
}

/** The exe part of a rule alone: true when the rule names no exe, or names this one. Lets a watcher skip a process after one readlink. */
export function exeMatches(exe: string | undefined, rule: MatchRule): boolean {
  return rule.exe === undefined || (exe !== undefined && path.normalize(exe) === path.normalize(rule.exe));
}

function nameMatches(proc: ProcInfo, name: string): boolean {
  if (name === '') return false;
  if (proc.name === name) return true;
  // A long name arrives truncated in comm; the exe's file name carries it in full.
  if (name.length > COMM_LEN && proc.name === name.slice(0, COMM_LEN)) return true;
  return proc.exe !== undefined && path.basename(proc.exe) === name;
}

function userMatches(proc: ProcInfo, user: string | number): boolean {
  if (typeof user === 'number' || /^\d+$/.test(user)) return proc.uid !== undefined && proc.uid === Number(user);
  return proc.user !== undefined && proc.user === user;
}

/** Describes a rule for messages, e.g. `exe=/usr/bin/foo user=alice`. */
export function describeRule(rule: MatchRule): string {
  const parts = Object.entries(rule).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length > 0 ? parts.join(' ') : '(empty rule)';
}
