// Undoes an adoption: every process in the app's group goes back where it (or its ancestor) came from.
import path from 'node:path/posix';
import { Cgroup, cgroupRoot } from '../../cgroups/index.js';
import { MAX_ROUNDS, returnTo, type Adoption, type MoveOptions } from './move.js';
import { readStat } from './proc.js';

/** What release did with each process. */
export interface ReleaseReport {
  /** Back in the group it came from. */
  returned: { pid: number; to: string }[];
  /** Its group is gone (or refuses processes): moved to the nearest ancestor that takes it. */
  fallback: { pid: number; wanted: string; to: string }[];
  /** Exited meanwhile. */
  gone: number[];
  /** Refused even by the root group; they stay in the app's group. */
  stuck: number[];
}

/**
 * Moves every process in the app's group (and its subgroups) back: to its own former group, or for a
 * process forked after adoption its nearest adopted ancestor's, or else the first adopted process's.
 */
export async function release(adoption: Adoption, options: MoveOptions = {}): Promise<ReleaseReport> {
  const root = options.root ?? (await cgroupRoot());
  const procRoot = options.procRoot ?? '/proc';
  const fromOf = new Map(adoption.moved.map((m) => [m.pid, m.from]));
  const report: ReleaseReport = { returned: [], fallback: [], gone: [], stuck: [] };
  let group: Cgroup;
  try {
    group = Cgroup.open(adoption.group);
  } catch {
    return report; // the group is gone, so nothing is left in it
  }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // New forks of released processes may still appear for a moment; a stuck process is not retried.
    const pids = (await group.allPids()).filter((p) => !report.stuck.includes(p));
    if (pids.length === 0) break;
    for (const pid of pids) {
      const wanted = (await inheritedFrom(pid, fromOf, procRoot)) ?? adoption.moved[0]?.from ?? '/';
      await releaseOne(root, pid, wanted, report);
    }
  }
  return report;
}

async function releaseOne(root: string, pid: number, wanted: string, report: ReleaseReport): Promise<void> {
  // A removed group shows as "PATH (deleted)": aim at its path, which no longer exists, so an ancestor takes over.
  let to = wanted.replace(/ \(deleted\)$/, '');
  for (;;) {
    const outcome = await returnTo(root, pid, to);
    if (outcome === 'gone') return void report.gone.push(pid);
    if (outcome === 'ok') {
      if (to === wanted) report.returned.push({ pid, to });
      else report.fallback.push({ pid, wanted, to });
      return;
    }
    if (to === '/') return void report.stuck.push(pid);
    to = path.dirname(to);
  }
}

/** The former group of a process or of its nearest adopted ancestor. */
async function inheritedFrom(pid: number, fromOf: ReadonlyMap<number, string>, procRoot: string): Promise<string | undefined> {
  for (let cur = pid, depth = 0; cur > 1 && depth < 64; depth++) {
    const from = fromOf.get(cur);
    if (from !== undefined) return from;
    const stat = await readStat(cur, procRoot);
    if (stat === undefined) return undefined;
    cur = stat.ppid;
  }
  return undefined;
}
