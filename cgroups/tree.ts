import { readdir, rmdir } from 'node:fs/promises';
import path from 'node:path/posix';
import { CgroupError, cgroupErrorFor } from './errors.js';
import { readControl, writeControlRaw } from './fsio.js';
import { parsePidList } from './parse.js';

/** Absolute paths of a group's child groups (its subdirectories). */
export async function childGroups(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  } catch (cause) {
    throw cgroupErrorFor('list child groups of cgroup', dir, cause);
  }
}

/** Pids directly in the group at `dir`, sorted and unique. */
export async function groupPids(dir: string): Promise<number[]> {
  return parsePidList(await readControl(path.join(dir, 'cgroup.procs'), 'list processes of cgroup'));
}

/** Pids in the group and all its descendants; child groups removed meanwhile are skipped. */
export async function subtreePids(dir: string): Promise<number[]> {
  const all = new Set(await groupPids(dir));
  for (const child of await childGroups(dir)) {
    try {
      for (const pid of await subtreePids(child)) all.add(pid);
    } catch (error) {
      if (!(error instanceof CgroupError && error.code === 'CGROUP_NOT_FOUND')) throw error;
    }
  }
  return [...all].sort((a, b) => a - b);
}

/** rmdirs descendants depth-first, then the group; a missing group is fine, the first failure is thrown. */
export async function removeTree(dir: string): Promise<void> {
  let children: string[];
  try {
    children = await childGroups(dir);
  } catch (error) {
    if (error instanceof CgroupError && error.code === 'CGROUP_NOT_FOUND') return;
    throw error;
  }
  // Keep going past a busy child so every removable group goes, then report the first failure.
  let firstError: unknown;
  for (const child of children) await removeTree(child).catch((error: unknown) => { firstError ??= error; });
  if (firstError !== undefined) throw firstError;
  try {
    await rmdir(dir);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cgroupErrorFor('remove cgroup', dir, cause);
  }
}

/** Writes a pid to the group's cgroup.procs, mapping ESRCH to CGROUP_NO_SUCH_PROCESS. */
export async function movePid(dir: string, pid: number): Promise<void> {
  // Writing 0 would move the caller itself: refuse anything but a real pid.
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new CgroupError(`invalid pid ${pid}`, { code: 'CGROUP_BAD_PID', exitCode: 2, hint: 'give a positive process id' });
  }
  const file = path.join(dir, 'cgroup.procs');
  try {
    await writeControlRaw(file, `${pid}\n`);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ESRCH') {
      throw new CgroupError(`process ${pid} is gone (it exited, or never existed), so it cannot join ${dir}`, {
        code: 'CGROUP_NO_SUCH_PROCESS', cause, hint: 'check the pid with `ps -p PID` and try again',
      });
    }
    throw cgroupErrorFor(`move process ${pid} into cgroup`, file, cause);
  }
}
