// Moves an app's processes into its group, remembering where each came from, and puts them back on release.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path/posix';
import { Cgroup, CgroupError, cgroupRoot, parseProcCgroup } from '../../cgroups/index.js';
import { AdoptError, runtimeError } from './errors.js';
import { moveIfOwned, requirePidfd, type Checked, type CheckContext, type LeftOut } from './owned.js';
import { readStat, withDescendants } from './proc.js';

/** One process moved into an app's group and the group it came from (a path below the cgroup2 mount, e.g. `/user.slice`). */
export interface MovedProcess {
  pid: number;
  from: string;
}

/** The result of an adoption; plain data, so the daemon can store it and release after a restart. */
export interface Adoption {
  /** Absolute path of the app's group. */
  group: string;
  moved: MovedProcess[];
  /** Pids that exited before they could be moved (skipped, not an error). */
  gone: number[];
  /** With an owner: the processes that were not theirs and stayed where they were (absent in older saved states). */
  leftOut?: LeftOut[];
}

/** Where the cgroup2 mount and /proc are. */
export interface MoveOptions {
  /** The cgroup2 mount (default: found by cgroupRoot()). */
  root?: string;
  procRoot?: string;
  /** Pids never to pull in while following children (the daemon). */
  skip?: Iterable<number>;
  /** Move only this uid's processes, each checked through a pidfd (a non-root protect); the rest are left out. */
  owner?: number;
}

/** Rounds of "move, then look for children forked meanwhile" before giving up on a fork storm. */
export const MAX_ROUNDS = 20;

/** The v2 cgroup of a process (relative to the mount), or undefined when it is gone. */
export async function procCgroup(pid: number, procRoot = '/proc'): Promise<string | undefined> {
  return readFile(`${procRoot}/${pid}/cgroup`, 'utf8').then(parseProcCgroup, () => undefined);
}

/**
 * Moves each process (cgroup.procs moves all its threads) and, round after round, the children they
 * forked before their own move. A process that exits meanwhile is skipped and reported in `gone`; with
 * `owner`, one that is not theirs stays where it was and is reported in `leftOut`. Any other failure
 * moves back every process already moved and throws ADOPT_MOVE_FAILED.
 */
export async function moveInto(group: Cgroup, pids: readonly number[], options: MoveOptions = {}): Promise<Adoption> {
  const root = options.root ?? (await cgroupRoot());
  const procRoot = options.procRoot ?? '/proc';
  const target = '/' + path.relative(root, group.path);
  // Without the addon nothing can be checked, so nothing is moved for a user: never an unchecked fallback.
  const check: CheckContext | undefined = options.owner === undefined ? undefined : { owner: options.owner, target, root, procRoot, pidfd: requirePidfd() };
  const skip = new Set([process.pid, 1, ...(options.skip ?? [])]);
  const adoption: Adoption = { group: group.path, moved: [], gone: [], ...(check ? { leftOut: [] } : {}) };
  const done = new Set<number>();
  let pending = [...pids];
  // Stop after a round that moved nothing: every process it met was already in the group (forked there).
  for (let round = 0; pending.length > 0; round++) {
    if (round >= MAX_ROUNDS) {
      await rollback(root, adoption.moved);
      throw runtimeError('ADOPT_FORK_STORM', `the app kept forking new processes while ${group.path} was being filled`, 'retry, or freeze the app first');
    }
    const before = adoption.moved.length;
    for (const pid of pending) {
      if (done.has(pid) || skip.has(pid)) continue;
      done.add(pid);
      const outcome = await (check ? moveIfOwned(group, pid, check) : moveAny(group, pid, target, procRoot)).catch((error: unknown) => failed(error, group, pid, root, adoption));
      if (outcome.kind === 'moved') adoption.moved.push({ pid, from: outcome.from });
      else if (outcome.kind === 'gone') adoption.gone.push(pid);
      else if (outcome.kind === 'left-out') adoption.leftOut?.push(outcome.left);
    }
    if (adoption.moved.length === before && round > 0) break;
    pending = (await withDescendants(adoption.moved.map((m) => m.pid), skip, procRoot)).filter((p) => !done.has(p));
  }
  return adoption;
}

/** Root's move: whoever the process belongs to. */
async function moveAny(group: Cgroup, pid: number, target: string, procRoot: string): Promise<Checked> {
  // A zombie still shows a cgroup and the kernel accepts its pid without moving anything: it is gone.
  const state = (await readStat(pid, procRoot))?.state;
  const from = state === undefined || state === 'Z' || state === 'X' ? undefined : await procCgroup(pid, procRoot);
  if (from === undefined) return { kind: 'gone' };
  if (from === target) return { kind: 'in-group' }; // forked after its parent moved: the kernel already put it there
  try {
    await group.addPid(pid);
    return { kind: 'moved', from };
  } catch (error) {
    if (error instanceof CgroupError && error.code === 'CGROUP_NO_SUCH_PROCESS') return { kind: 'gone' };
    throw error;
  }
}

/** A move failed for another reason than the process exiting: everything moved so far goes back. */
async function failed(error: unknown, group: Cgroup, pid: number, root: string, adoption: Adoption): Promise<never> {
  const leftBehind = await rollback(root, adoption.moved);
  adoption.moved = [];
  if (error instanceof AdoptError && leftBehind.length === 0) throw error; // a checked move's own refusal says what to do
  throw runtimeError('ADOPT_MOVE_FAILED',
    `cannot move process ${pid} into ${group.path}; the ${leftBehind.length === 0 ? 'processes moved so far were put back' : `processes ${leftBehind.join(', ')} could not be put back`}`,
    'check that the group exists and has no controllers enabled in cgroup.subtree_control', error);
}

/** Puts moved processes back where they came from, newest first; returns the pids that could not be put back. */
async function rollback(root: string, moved: readonly MovedProcess[]): Promise<number[]> {
  const failed: number[] = [];
  for (const m of [...moved].reverse()) {
    const outcome = await returnTo(root, m.pid, m.from);
    if (outcome === 'failed') failed.push(m.pid);
  }
  return failed;
}

/** Writes a pid into the group at `rel` below the mount: ok, gone (exited), or failed (missing group, refused). */
export async function returnTo(root: string, pid: number, rel: string): Promise<'ok' | 'gone' | 'failed'> {
  const dir = path.join(root, rel);
  if (!existsSync(path.join(dir, 'cgroup.procs'))) return 'failed';
  try {
    await Cgroup.open(dir).addPid(pid);
    return 'ok';
  } catch (error) {
    return error instanceof CgroupError && error.code === 'CGROUP_NO_SUCH_PROCESS' ? 'gone' : 'failed';
  }
}
