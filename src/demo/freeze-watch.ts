// When a cgroup was frozen and thawed, seen from outside: cgroup.events is re-read on
// every inotify change (as ksapp itself watches it), plus a 1 ms re-read while the
// group is frozen, because the kernel sends at most one change notice per 20 ms and a
// move's freeze can be shorter than that.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/** One reading of the frozen flag, at an epoch time in ms (sub-millisecond precision). */
export interface FreezeChange {
  readonly at: number;
  readonly frozen: boolean;
}

/** A running watch of one group's frozen flag. */
export interface FreezeWatch {
  /** Every change of the flag seen so far, the first reading included. */
  readonly changes: readonly FreezeChange[];
  close(): void;
}

/** Epoch milliseconds with the monotonic clock's precision. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

function frozenNow(file: string): boolean | undefined {
  try {
    return /^frozen 1$/m.test(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Starts watching `cgroupPath`'s frozen flag; close() when done. */
export function watchFreezes(cgroupPath: string): FreezeWatch {
  const file = path.join(cgroupPath, 'cgroup.events');
  const changes: FreezeChange[] = [];
  let poll: NodeJS.Timeout | undefined;
  const check = (): void => {
    const frozen = frozenNow(file);
    if (frozen === undefined) return;
    if (changes.at(-1)?.frozen !== frozen) changes.push({ at: preciseNow(), frozen });
    if (frozen && !poll) poll = setInterval(check, 1);
    if (!frozen && poll) { clearInterval(poll); poll = undefined; }
  };
  let watcher: FSWatcher | undefined;
  try { watcher = watch(file, check); } catch { /* the group is gone: nothing to see */ }
  check();
  return { changes, close: () => { watcher?.close(); if (poll) clearInterval(poll); } };
}

/** The first freeze at or after `from` and the thaw that ended it (pure); null when not seen. */
export function frozenSpan(changes: readonly FreezeChange[], from: number): { frozeAt: number; thawedAt: number } | null {
  const i = changes.findIndex((c) => c.frozen && c.at >= from);
  const thaw = i < 0 ? undefined : changes.slice(i + 1).find((c) => !c.frozen);
  return i < 0 || !thaw ? null : { frozeAt: changes[i]!.at, thawedAt: thaw.at };
}
