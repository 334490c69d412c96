// The lab's on-disk state under /run/ksapp-lab/<sfx>/: who owns the lab and
// which processes it started, so a later run can clean up after a crash and
// never mistake a live lab (another test running in parallel) for a leftover.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Root of every lab's state directory (overridable for tests). */
export const STATE_ROOT = process.env.KSAPP_LAB_STATE ?? '/run/ksapp-lab';

/** A process identity that survives pid reuse: pid plus its start time in clock ticks. */
export interface ProcId {
  pid: number;
  start: number;
}

/** Reads field 22 (starttime) of a /proc/PID/stat line; the comm field may hold spaces and parens. */
export function parseStatStartTime(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(rest[19]); // fields 3.. follow the comm; starttime is field 22
  return Number.isFinite(start) ? start : undefined;
}

/** The start time of a running process, or undefined when it is gone. */
export function startTimeOf(pid: number): number | undefined {
  try {
    return parseStatStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when exactly this process (not a later one reusing its pid) still runs. */
export function isRunning(p: ProcId): boolean {
  return startTimeOf(p.pid) === p.start;
}

/** Parses lines of "NAME PID START" (the pids file) into named process identities. */
export function parsePidLines(text: string): Array<ProcId & { name: string }> {
  const out: Array<ProcId & { name: string }> = [];
  for (const line of text.split('\n')) {
    const [name, pid, start] = line.trim().split(/\s+/);
    if (name && Number(pid) > 0 && Number.isFinite(Number(start))) out.push({ name, pid: Number(pid), start: Number(start) });
  }
  return out;
}

/** The state directory of the lab with this suffix. */
export function stateDir(suffix: string): string {
  return join(STATE_ROOT, suffix);
}

/** Creates the state directory and records this process as its owner (before any namespace exists). */
export function claimStateDir(suffix: string): string {
  const dir = stateDir(suffix);
  mkdirSync(STATE_ROOT, { recursive: true, mode: 0o700 });
  mkdirSync(dir, { mode: 0o700 }); // fails if the suffix is taken
  writeFileSync(join(dir, 'owner'), `owner ${process.pid} ${startTimeOf(process.pid) ?? 0}\n`);
  return dir;
}

/** Appends a started process to the lab's pids file. */
export function recordPid(dir: string, name: string, pid: number): void {
  appendFileSync(join(dir, 'pids'), `${name} ${pid} ${startTimeOf(pid) ?? 0}\n`);
}

/** Every process the lab recorded (some may have ended since). */
export function recordedPids(dir: string): Array<ProcId & { name: string }> {
  try {
    return parsePidLines(readFileSync(join(dir, 'pids'), 'utf8'));
  } catch {
    return [];
  }
}

/** Whether the lab's owner still runs, is gone, or cannot be told yet (a directory just created). */
export function ownerState(suffix: string): 'alive' | 'dead' | 'unknown' {
  const dir = stateDir(suffix);
  try {
    const [owner] = parsePidLines(readFileSync(join(dir, 'owner'), 'utf8'));
    return owner && isRunning(owner) ? 'alive' : 'dead';
  } catch {
    try {
      return Date.now() - statSync(dir).mtimeMs < 10_000 ? 'unknown' : 'dead';
    } catch {
      return 'dead'; // no state at all: namespaces or sockets without an owner
    }
  }
}

/** Suffixes that have a state directory. */
export function stateSuffixes(): string[] {
  try {
    return readdirSync(STATE_ROOT).filter((n) => /^[0-9a-f]{6}$/.test(n));
  } catch {
    return [];
  }
}
