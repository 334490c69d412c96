import { CgroupError } from './errors.js';

/** The state the kernel reports in a group's cgroup.events. */
export interface CgroupEvents {
  /** True while the group or any descendant holds a live process. */
  populated: boolean;
  /** True once every process of the group is actually frozen (not merely requested). */
  frozen: boolean;
}

/** Parses cgroup.events (`populated 0|1`, `frozen 0|1`); kernels before 5.2 have no `frozen` line. */
export function parseCgroupEvents(text: string): CgroupEvents {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) values.set(key, value);
  }
  const populated = values.get('populated');
  if (populated !== '0' && populated !== '1') {
    throw new CgroupError(`cgroup.events has no valid "populated" line: ${JSON.stringify(text.slice(0, 80))}`, {
      code: 'CGROUP_BAD_EVENTS', userFixable: false,
    });
  }
  return { populated: populated === '1', frozen: values.get('frozen') === '1' };
}

/**
 * Returns the cgroup v2 path (e.g. `/ksapp/app`) from /proc/PID/cgroup text, or undefined
 * when the process has no v2 membership line (`0::`). A removed group keeps the kernel's
 * ` (deleted)` suffix, so it never compares equal to a live path.
 */
export function parseProcCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    // Only the first two colons separate fields; the path itself may contain colons.
    if (line.startsWith('0::')) return line.slice(3);
  }
  return undefined;
}

/** Parses a pid list (cgroup.procs); the kernel may repeat a pid that moved out and back. */
export function parsePidList(text: string): number[] {
  const pids = new Set<number>();
  for (const line of text.split('\n')) {
    const pid = Number.parseInt(line, 10);
    if (Number.isSafeInteger(pid) && pid > 0) pids.add(pid);
  }
  return [...pids].sort((a, b) => a - b);
}
