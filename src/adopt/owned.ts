// A non-root user's protect moves only that user's own processes, each checked at move time through a
// pidfd: a pid is a number the kernel hands out again once its process is reaped, and only the pidfd
// can say that the process whose uids were read is the one the pid still named at the write.
import { readFile } from 'node:fs/promises';
import path from 'node:path/posix';
import { Cgroup, CgroupError, parseProcCgroup } from '../../cgroups/index.js';
import { loadAddon } from '../native/load.js';
import { runtimeError } from './errors.js';
import { readStat } from './proc.js';

/** Real, effective and saved uid from the Uid line of /proc/PID/status. */
export interface Uids { readonly real: number; readonly effective: number; readonly saved: number }

/** A process a non-root protect left where it was: it is not the caller's. */
export interface LeftOut { readonly pid: number; readonly uid: number; readonly comm: string; readonly why: string }

/** Whether a process is the owner's; if not, the uid it is (also) and why it does not count as theirs. */
export type Ownership = { readonly owned: true } | { readonly owned: false; readonly uid: number; readonly why: string };

/** What /proc showed of a process between opening its pidfd and asking the pidfd whether it still lives. */
export interface Seen { readonly state: string; readonly comm: string; readonly from: string; readonly uids: Uids | undefined }

/** The native pidfd addon (src/native/pidfd.c). */
export interface Pidfd { open(pid: number): number; alive(fd: number): boolean; close(fd: number): void }

/** Parses the Uid line of /proc/PID/status; undefined when there is none. */
export function parseUids(status: string): Uids | undefined {
  const m = /^Uid:\s*(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
  return m ? { real: Number(m[1]), effective: Number(m[2]), saved: Number(m[3]) } : undefined;
}

/** The owner's only when real, effective and saved uid are all theirs: a setuid program they started is not. */
export function ownership(uids: Uids | undefined, owner: number): Ownership {
  if (uids === undefined) return { owned: false, uid: -1, why: 'its uids could not be read' };
  if (uids.real !== owner) return { owned: false, uid: uids.real, why: `it runs as uid ${uids.real}` };
  const other = [uids.effective, uids.saved].find((u) => u !== owner);
  if (other === undefined) return { owned: true };
  return { owned: false, uid: other, why: `it holds uid ${other}'s privileges (effective uid ${uids.effective}, saved uid ${uids.saved}), as a setuid program does` };
}

/** Before the write (pure): a process that died after being read may have lent its pid out, so its read counts for nothing. */
export function beforeWrite(seen: Seen | undefined, aliveAfterRead: boolean, owner: number, target: string):
  { readonly do: 'gone' | 'in-group' | 'write' } | { readonly do: 'leave-out'; readonly uid: number; readonly why: string } {
  if (!aliveAfterRead || seen === undefined || seen.state === 'Z' || seen.state === 'X') return { do: 'gone' };
  // Forked after its parent moved: the kernel already put it in the group.
  if (seen.from === target) return { do: 'in-group' };
  const o = ownership(seen.uids, owner);
  return o.owned ? { do: 'write' } : { do: 'leave-out', uid: o.uid, why: o.why };
}

/** After the write (pure): moved only if the checked process outlived the write; else whoever holds the pid now must be looked at. */
export function afterWrite(wrote: 'ok' | 'gone', aliveAfterWrite: boolean): 'moved' | 'gone' | 'check-pid' {
  if (wrote === 'gone') return 'gone'; // no process held the pid: nothing moved
  return aliveAfterWrite ? 'moved' : 'check-pid';
}

/** Whoever holds a pid whose checked process died around the write (pure): put back when in the group and not the owner's. */
export function occupant(seen: Seen | undefined, alive: boolean, owner: number, target: string): 'none' | 'keep' | 'put-back' | 'look-again' {
  if (seen === undefined) return 'none';
  if (!alive) return 'look-again'; // what was read may have been of yet another process
  if (seen.from !== target || seen.state === 'Z' || seen.state === 'X') return 'none';
  return ownership(seen.uids, owner).owned ? 'keep' : 'put-back';
}

/** Left-out processes in one line for the CLI and the event log: `pid (comm): why`, the first `max` of them. */
export function describeLeftOut(list: readonly LeftOut[], max = 5): string {
  // A name is whatever its process set (prctl): no control characters reach a terminal or the log.
  const shown = list.slice(0, max).map((l) => `${l.pid} (${l.comm.replace(/[\x00-\x1f\x7f]/g, '?')}): ${l.why}`).join('; ');
  return list.length > max ? `${shown}; and ${list.length - max} more` : shown;
}

/** The pidfd addon; ADOPT_NO_PIDFD without it, because a non-root protect must never move what it cannot check. */
export function requirePidfd(load = (): Pidfd | undefined => loadAddon<Pidfd>('pidfd')): Pidfd {
  const addon = load();
  if (addon !== undefined) return addon;
  throw runtimeError('ADOPT_NO_PIDFD', 'ksapp cannot check that each process is yours before moving it: its native pidfd addon is not built',
    'build it (npm run build; it needs a C compiler and python3), or protect the app as root (sudo ksapp protect …)');
}

/** Whether a running process is the owner's; undefined once it is gone. Only for refusing early: a move checks again. */
export async function ownershipOf(pid: number, owner: number, procRoot = '/proc'): Promise<Ownership | undefined> {
  const status = await readFile(`${procRoot}/${pid}/status`, 'utf8').catch(() => undefined);
  return status === undefined ? undefined : ownership(parseUids(status), owner);
}

/** Where and for whom a checked move works; `target` is the group's path below the cgroup2 mount `root`. */
export interface CheckContext { readonly owner: number; readonly target: string; readonly root: string; readonly procRoot: string; readonly pidfd: Pidfd }

/** What a checked move did with one process. */
export type Checked = { readonly kind: 'moved'; readonly from: string } | { readonly kind: 'gone' | 'in-group' } | { readonly kind: 'left-out'; readonly left: LeftOut };

/** Moves `pid` into the group only if it is the owner's, asking its pidfd after the read and after the write. */
export async function moveIfOwned(group: Cgroup, pid: number, ctx: CheckContext): Promise<Checked> {
  const fd = openPidfd(ctx.pidfd, pid);
  if (fd === undefined) return { kind: 'gone' };
  try {
    const seen = await look(pid, ctx.procRoot);
    const before = beforeWrite(seen, ctx.pidfd.alive(fd), ctx.owner, ctx.target);
    if (before.do === 'leave-out') return { kind: 'left-out', left: { pid, uid: before.uid, comm: seen!.comm, why: before.why } };
    if (before.do !== 'write') return { kind: before.do };
    const wrote = await write(group, pid);
    const after = afterWrite(wrote, ctx.pidfd.alive(fd));
    if (after === 'moved') return { kind: 'moved', from: seen!.from };
    if (after === 'check-pid') await evict(pid, seen!.from, ctx);
    return { kind: 'gone' };
  } finally {
    ctx.pidfd.close(fd);
  }
}

/** Times a pid may change hands while evict looks at it before the move is given up. */
const EVICT_ATTEMPTS = 4;

/** The checked process died around the write, so the write may have moved whoever took its pid: a stranger goes back where the target came from. */
async function evict(pid: number, from: string, ctx: CheckContext): Promise<void> {
  for (let attempt = 0; attempt < EVICT_ATTEMPTS; attempt++) {
    const fd = openPidfd(ctx.pidfd, pid);
    if (fd === undefined) return; // nobody holds the pid, so nothing by that pid is in the group
    try {
      const verdict = occupant(await look(pid, ctx.procRoot), ctx.pidfd.alive(fd), ctx.owner, ctx.target);
      if (verdict === 'none' || verdict === 'keep') return;
      if (verdict === 'put-back') {
        const outcome = await putBack(ctx.root, pid, from);
        if (outcome === 'failed') throw runtimeError('ADOPT_STRAY', `process ${pid}, not yours, took the pid of a process being moved and could not be put back`, 'ask root to move it out of the group (sudo ksapp release …)');
        if (outcome === 'ok' && ctx.pidfd.alive(fd)) return;
      }
      // It died while being looked at or put back: the pid may name yet another process by now.
    } finally {
      ctx.pidfd.close(fd);
    }
  }
  throw runtimeError('ADOPT_STRAY', `process id ${pid} changed hands ${EVICT_ATTEMPTS} times while ksapp checked it`, 'retry ksapp protect');
}

function openPidfd(pidfd: Pidfd, pid: number): number | undefined {
  try {
    return pidfd.open(pid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ESRCH: no such process; ENOENT (EINVAL before Linux 6.9): the pid now names a thread, so the process we meant is gone.
    if (code === 'ESRCH' || code === 'ENOENT' || code === 'EINVAL') return undefined;
    if (code === 'ENOSYS') throw runtimeError('ADOPT_NO_PIDFD', 'this kernel has no pidfd_open (Linux 5.3 or newer), so ksapp cannot check that each process is yours before moving it', 'protect the app as root (sudo ksapp protect …)', error);
    throw error;
  }
}

async function look(pid: number, procRoot: string): Promise<Seen | undefined> {
  const [stat, status, from] = await Promise.all([
    readStat(pid, procRoot),
    readFile(`${procRoot}/${pid}/status`, 'utf8').catch(() => undefined),
    readFile(`${procRoot}/${pid}/cgroup`, 'utf8').then(parseProcCgroup, () => undefined),
  ]);
  if (stat === undefined || status === undefined || from === undefined) return undefined;
  return { state: stat.state, comm: stat.comm, from, uids: parseUids(status) };
}

async function write(group: Cgroup, pid: number): Promise<'ok' | 'gone'> {
  try {
    await group.addPid(pid);
    return 'ok';
  } catch (error) {
    if (error instanceof CgroupError && error.code === 'CGROUP_NO_SUCH_PROCESS') return 'gone';
    throw error;
  }
}

/** Into `from`, or the nearest ancestor that takes the pid if that group is gone. */
async function putBack(root: string, pid: number, from: string): Promise<'ok' | 'gone' | 'failed'> {
  for (let rel = from.replace(/ \(deleted\)$/, ''); ; rel = path.dirname(rel)) {
    try {
      await Cgroup.open(path.join(root, rel)).addPid(pid);
      return 'ok';
    } catch (error) {
      if (error instanceof CgroupError && error.code === 'CGROUP_NO_SUCH_PROCESS') return 'gone';
      if (rel === '/') return 'failed';
    }
  }
}
