import { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KsappError } from '../errors.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Where the daemons keep the locks that are not next to a socket. */
const LOCK_DIR = '/run/ksapp';

/**
 * Takes the daemon lock (a file holding our pid, created exclusively). A lock
 * of a live daemon is waited for — it may be finishing its teardown — and a
 * lock of a dead one is taken over. The pid is written to a file of our own
 * first and linked into place, so nobody ever reads a lock without its pid
 * (and takes an empty one for stale). Returns the release function.
 */
export async function acquireLock(
  file: string, waitMs = 10_000, busy?: (pid: number) => Error,
): Promise<() => Promise<void>> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const deadline = Date.now() + waitMs;
  const mine = `${file}.${process.pid}`;
  await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
  for (;;) {
    try {
      await link(mine, file);
      await unlink(mine).catch(() => undefined);
      return async () => {
        // Only our own lock: never one another daemon holds.
        if (await holderOf(file) === process.pid) await unlink(file).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        await unlink(mine).catch(() => undefined);
        throw error;
      }
    }
    const pid = await holderOf(file);
    if (pid === undefined || !alive(pid)) {
      await takeOver(file, pid);
      continue;
    }
    if (Date.now() >= deadline) {
      await unlink(mine).catch(() => undefined);
      if (busy) throw busy(pid);
      throw new KsappError(`another ksapp daemon (pid ${pid}) holds ${file}`, {
        code: 'DAEMON_RUNNING', hint: `use it (ksapp status), or stop it first (kill ${pid})`,
      });
    }
    await sleep(20);
  }
}

/** The pid a lock file names; undefined when it names none (or is gone). */
async function holderOf(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Removes the stale lock that named `stale`. Two daemons may find the same stale lock at once; a plain
 * unlink by the slower one would remove the lock the faster one has just taken. So the lock is moved
 * aside first (rename is atomic: one mover gets each file), and put back when what was moved turns out
 * to be a live daemon's fresh lock.
 */
async function takeOver(file: string, stale: number | undefined): Promise<void> {
  const aside = `${file}.stale.${process.pid}`;
  try {
    await rename(file, aside);
  } catch {
    return; // someone else moved it: look again
  }
  const moved = await holderOf(aside);
  if (moved !== undefined && moved !== stale && alive(moved)) await link(aside, file).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/** Two daemons (in two network namespaces) on one cgroup parent would take each other's apps for their own: one parent, one daemon. */
export function acquireParentLock(cgroupParent: string): Promise<() => Promise<void>> {
  return acquireLock(`${LOCK_DIR}/cgroup-${cgroupParent.replace(/\//g, '_')}.lock`, 3000, (pid) =>
    new KsappError(`cgroup parent ${cgroupParent} is used by another ksapp daemon (pid ${pid})`, {
      code: 'PARENT_IN_USE', exitCode: 2, hint: 'give this daemon its own `cgroupParent:` in its config (one per network namespace)',
    }));
}

/**
 * One daemon per network namespace: table `inet ksapp` is the namespace's, and
 * a second daemon would replace it with rules that know nothing of the first
 * one's apps.
 */
export async function acquireNetnsLock(): Promise<() => Promise<void>> {
  const netns = (await stat('/proc/self/ns/net')).ino;
  return acquireLock(`${LOCK_DIR}/netns-${netns}.lock`, 3000, (pid) =>
    new KsappError(`another ksapp daemon (pid ${pid}) already owns the firewall of this network namespace`, {
      code: 'NETNS_IN_USE', exitCode: 1, hint: 'talk to that one (its --socket), or stop it first; one daemon per network namespace',
    }));
}

/**
 * Removes the locks daemons killed without their teardown (SIGKILL, a crash) left in `dir`: only those
 * whose pid is dead, which acquireLock would take over anyway. Returns the files removed.
 */
export async function sweepStaleLocks(dir = LOCK_DIR): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    // A lock names its holder inside; one being taken (NAME.lock.PID) or taken over (NAME.lock.stale.PID)
    // names the daemon doing it in the file name.
    const taking = /\.lock\.(?:stale\.)?(\d+)$/.exec(name);
    if (!taking && !name.endsWith('.lock')) continue;
    const file = path.join(dir, name);
    const pid = taking ? Number(taking[1]) : await holderOf(file);
    if (pid !== undefined && !alive(pid) && (await unlink(file).then(() => true, () => false))) removed.push(file);
  }
  return removed;
}
