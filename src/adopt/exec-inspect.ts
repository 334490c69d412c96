import { readFile } from 'node:fs/promises';
import type { EventEmitter } from 'node:events';
import { exeMatches, matches, type MatchRule, type ProcInfo } from './match.js';
import { isKernelThread, readExe, readStat, readStatus } from './proc.js';
import type { ExecEvent, PollOptions } from './exec-watch.js';

/** The settings every watcher runs with. */
export type WatchSettings = Required<Pick<PollOptions, 'intervalMs' | 'recheckMs' | 'self' | 'procRoot'>>;

/** Kernel clock ticks per second (USER_HZ), which /proc/PID/stat's start time counts. */
export const USER_HZ = 100;

/** The event for `pid` when it is a live user process matching `rule`; undefined otherwise. */
export async function inspect(pid: number, rule: MatchRule, o: WatchSettings, exes?: Map<number, Promise<string | undefined>>): Promise<ExecEvent | undefined> {
  if (pid === o.self || pid === 1) return undefined;
  // One readlink per process and scan, however many rules look at it.
  let exe = exes?.get(pid);
  if (exe === undefined) {
    exe = readExe(pid, o.procRoot);
    exes?.set(pid, exe);
  }
  const found = await exe;
  // Every exec on the machine comes here with kernel events: most are rejected after this one readlink.
  if (!exeMatches(found, rule)) return undefined;
  const stat = await readStat(pid, o.procRoot);
  if (stat === undefined || stat.state === 'Z' || isKernelThread(stat)) return undefined;
  const uid = rule.user === undefined ? undefined : (await readStatus(pid, o.procRoot))?.uid;
  const proc: ProcInfo = { pid, ppid: stat.ppid, name: stat.comm, uid, exe: found };
  if (!matches(proc, rule)) return undefined;
  const now = await uptimeMs(o.procRoot);
  return { proc, detectedAt: Date.now(), ageMs: Math.max(0, Math.round(now - (stat.startTicks * 1000) / USER_HZ)) };
}

/** Milliseconds since boot, the clock /proc/PID/stat's start times count on. */
export async function uptimeMs(procRoot: string): Promise<number> {
  return Number((await readFile(`${procRoot}/uptime`, 'utf8')).split(' ')[0]) * 1000;
}

/** Reports a problem to whoever listens: an unheard 'error' event would throw and take the daemon down over one failed scan. */
export function warn(watcher: EventEmitter<{ exec: [ExecEvent]; error: [Error] }>, error: Error): void {
  if (watcher.listenerCount('error') > 0) watcher.emit('error', error);
}

