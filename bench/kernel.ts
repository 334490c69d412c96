// Direct cgroup operations for the kernel's floor and for observing ksapp from outside.
// The floor is measured synchronously (write, then re-read cgroup.events in a tight loop),
// the purest figure the kernel allows; the outside observer uses inotify, as ksapp does,
// so it does not steal a CPU from the daemon it watches.
import { readFileSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCgroupEvents, type CgroupEvents } from '../cgroups/index.js';

/** Milliseconds between two process.hrtime.bigint() readings. */
export function msBetween(from: bigint, to: bigint): number {
  return Number(to - from) / 1e6;
}

/** cgroup.events of a group, read synchronously; undefined when the group is gone. */
export function eventsOf(dir: string): CgroupEvents | undefined {
  try {
    return parseCgroupEvents(readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Re-reads cgroup.events of every group until `wanted` holds for all; the hrtime it held at, or null on timeout. */
export function spinUntil(dirs: readonly string[], wanted: (e: CgroupEvents) => boolean, timeoutMs = 5000): bigint | null {
  const deadline = process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n;
  let i = 0;
  for (;;) {
    while (i < dirs.length) {
      const e = eventsOf(dirs[i]!);
      if (!e || !wanted(e)) break;
      i++;
    }
    const now = process.hrtime.bigint();
    if (i === dirs.length) return now;
    if (now > deadline) return null;
  }
}

/** Kernel floor of a freeze: cgroup.freeze ← 1 on every group → all `frozen 1`, ms (NaN on timeout); thaws afterwards. */
export function floorFreeze(dirs: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  for (const d of dirs) writeFileSync(path.join(d, 'cgroup.freeze'), '1');
  const t1 = spinUntil(dirs, (e) => e.frozen);
  for (const d of dirs) writeFileSync(path.join(d, 'cgroup.freeze'), '0');
  spinUntil(dirs, (e) => !e.frozen);
  return t1 === null ? NaN : msBetween(t0, t1);
}

/** Kernel floor of a kill: cgroup.kill ← 1 → `populated 0`, ms (NaN on timeout). */
export function floorKill(dir: string): number {
  const t0 = process.hrtime.bigint();
  writeFileSync(path.join(dir, 'cgroup.kill'), '1');
  const t1 = spinUntil([dir], (e) => !e.populated);
  return t1 === null ? NaN : msBetween(t0, t1);
}

/** Waits (inotify on cgroup.events, plus a slow safety poll) until `wanted` holds; resolves with the hrtime seen, or null on timeout. */
export function observe(dir: string, wanted: (e: CgroupEvents) => boolean, timeoutMs = 5000): Promise<bigint | null> {
  const file = path.join(dir, 'cgroup.events');
  return new Promise((resolve) => {
    let done = false;
    const finish = (at: bigint | null): void => {
      if (done) return;
      done = true;
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
      resolve(at);
    };
    const check = (): void => {
      const e = eventsOf(dir);
      if (e && wanted(e)) finish(process.hrtime.bigint());
    };
    const watcher = watch(file, check);
    const poll = setInterval(check, 50);
    const timer = setTimeout(() => finish(null), timeoutMs);
    check();
  });
}
