// Resident memory and CPU time of a process, from /proc.
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ is 100 on every Linux build that matters). */
export const USER_HZ = 100;

/** VmRSS in KiB from /proc/PID/status text (pure); NaN when absent. */
export function parseVmRssKiB(status: string): number {
  return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
}

/** utime+stime (ticks) and ppid from /proc/PID/stat text (pure); the command may hold spaces and parentheses. */
export function parseStat(stat: string): { ppid: number; ticks: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state=0 ppid=1 … utime=11 stime=12.
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** VmRSS of a live process, KiB. */
export function rssKiB(pid: number): number {
  return parseVmRssKiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/** CPU ticks used so far by a process. */
export function cpuTicks(pid: number): number {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks;
}

/** Direct children of a process (e.g. the daemon's `ip monitor`). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try { if (parseStat(readFileSync(`/proc/${e}/stat`, 'utf8')).ppid === pid) out.push(Number(e)); } catch { /* exited */ }
  }
  return out;
}

/** How many direct children of a process run `comm` now (e.g. the daemon's `nft` runs); reads only the process's own task files. */
export function childrenRunning(pid: number, comm: string): number {
  let n = 0;
  let tasks: string[];
  try { tasks = readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  for (const t of tasks) {
    let kids: string[];
    try { kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean); } catch { continue; }
    for (const k of kids) {
      try { if (readFileSync(`/proc/${k}/comm`, 'utf8').trim() === comm) n++; } catch { /* exited */ }
    }
  }
  return n;
}
