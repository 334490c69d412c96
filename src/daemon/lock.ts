// The daemon's locks: an exclusive flock(2) on a file, which the kernel drops when its holder dies,
// however it dies. No pid is trusted, nothing stale is taken over: a lock is free or held by a live
// process. The holder's pid is written inside only to name it in messages.
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KsappError } from '../errors.js';
import { loadAddon } from '../native/load.js';

type Flock = { lock(fd: number): boolean; unlock(fd: number): void };

/** Where the daemons keep the locks that are not next to a socket. */
const LOCK_DIR = '/run/ksapp';

/** Whether a lock file is open as the one its path names now (pure: dev and inode of both). */
export function sameFile(held: { dev: number; ino: number }, named: { dev: number; ino: number } | undefined): boolean {
  return named !== undefined && held.dev === named.dev && held.ino === named.ino;
}

function flockAddon(): Flock {
  const addon = loadAddon<Flock>('flock');
  if (!addon) throw new KsappError('the flock addon is not built: the daemon cannot take its locks', { code: 'LOCK_UNAVAILABLE', hint: 'run `npm run build` (it needs a C compiler and make)' });
  return addon;
}

/**
 * Takes the lock `file` once it is free, waiting up to `waitMs` for a live
 * holder (a leaving daemon finishes its teardown under its lock). A holder
 * unlinks the file before it lets go, so a lock taken on a file that is no
 * longer the one at the path is let go and taken again. Returns the release.
 */
export async function acquireLock(
  file: string, waitMs = 10_000, busy?: (pid: number | undefined) => Error,
): Promise<() => Promise<void>> {
  const flock = flockAddon();
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const handle = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    if (flock.lock(handle.fd)) {
      if (sameFile(await handle.stat(), await lstat(file).catch(() => undefined))) return holding(file, handle);
      await handle.close(); // taken on a file its holder had just removed: try the new one
      continue;
    }
    await handle.close();
    if (Date.now() >= deadline) {
      const pid = await holderOf(file);
      if (busy) throw busy(pid);
      throw new KsappError(`another ksapp daemon${pid ? ` (pid ${pid})` : ''} holds ${file}`, {
        code: 'DAEMON_RUNNING', hint: pid ? `use it (ksapp status), or stop it first (kill ${pid})` : 'use it (ksapp status), or stop it first',
      });
    }
    await sleep(20);
  }
}

/** Writes our pid into a lock just taken; the release removes the file while still holding it, then lets go. */
async function holding(file: string, handle: FileHandle): Promise<() => Promise<void>> {
  await handle.truncate(0);
  await handle.write(`${process.pid}\n`, 0);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await unlink(file).catch(() => undefined);
    await handle.close(); // the kernel drops the flock with the last descriptor
  };
}

/** The pid a lock file names; undefined when it names none (or is gone). */
async function holderOf(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Two daemons (in two network namespaces) on one cgroup parent would take each other's apps for their own: one parent, one daemon. */
export function acquireParentLock(cgroupParent: string): Promise<() => Promise<void>> {
  return acquireLock(`${LOCK_DIR}/cgroup-${cgroupParent.replace(/\//g, '_')}.lock`, 3000, (pid) =>
    new KsappError(`cgroup parent ${cgroupParent} is used by another ksapp daemon${pid ? ` (pid ${pid})` : ''}`, {
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
    new KsappError(`another ksapp daemon${pid ? ` (pid ${pid})` : ''} already owns the firewall of this network namespace`, {
      code: 'NETNS_IN_USE', exitCode: 1, hint: 'talk to that one (its --socket), or stop it first; one daemon per network namespace',
    }));
}

/**
 * Removes the lock files daemons killed without their teardown (SIGKILL, a crash) left in `dir`, so
 * they do not pile up: only files no live process holds, each removed while we hold it. Returns them.
 */
export async function sweepStaleLocks(dir = LOCK_DIR): Promise<string[]> {
  const flock = flockAddon();
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith('.lock')) continue;
    const file = path.join(dir, name);
    const handle = await open(file, constants.O_RDWR | constants.O_NOFOLLOW).catch(() => undefined);
    if (!handle) continue;
    try {
      if (flock.lock(handle.fd) && sameFile(await handle.stat(), await lstat(file).catch(() => undefined)) && (await unlink(file).then(() => true, () => false))) removed.push(file);
    } finally {
      await handle.close();
    }
  }
  return removed;
}
