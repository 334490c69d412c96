import path from 'node:path/posix';
import { CgroupError } from './errors.js';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** What the rule for a group name says, for error messages. */
export const CGROUP_NAME_RULE = '1-64 characters from A-Z a-z 0-9 . _ - (not "." or "..", not starting with "cgroup.")';

/**
 * Why `name` is not one safe cgroup directory name, or undefined when it is
 * (pure). "." and ".." would name the parent or the group itself; a
 * "cgroup." prefix is the kernel's own interface files; anything else outside
 * the character set (a "/", control characters) would escape or confuse paths.
 */
export function cgroupNameProblem(name: string): string | undefined {
  const got = `(got ${JSON.stringify(name)})`;
  if (name === '.' || name === '..') return `must not be "." or ".." ${got}`;
  if (!NAME.test(name)) return `must be 1 to 64 letters, digits, ".", "_" or "-" ${got}`;
  if (name.startsWith('cgroup.')) return `must not start with "cgroup.", the kernel's own files ${got}`;
  return undefined;
}

/** Throws CGROUP_BAD_NAME unless `name` is one safe path component. */
export function validateCgroupName(name: string): void {
  const problem = cgroupNameProblem(name);
  if (problem) {
    throw new CgroupError(`invalid cgroup name: it ${problem}`, { code: 'CGROUP_BAD_NAME', exitCode: 2, hint: `use ${CGROUP_NAME_RULE}` });
  }
}

/** True for a normalised absolute path strictly below `base` (pure): what a group path read from elsewhere must be. */
export function isBelowPath(p: unknown, base: string): p is string {
  return typeof p === 'string' && path.isAbsolute(p) && path.normalize(p) === p && p.startsWith(`${base}/`) && !p.includes('\n');
}

/** Normalises an absolute group path (no trailing slash); throws CGROUP_BAD_PATH for a relative one. */
export function normalizeCgroupPath(absPath: string): string {
  if (!path.isAbsolute(absPath)) {
    throw new CgroupError(`cgroup path must be absolute, got "${absPath}"`, { code: 'CGROUP_BAD_PATH', userFixable: false });
  }
  return path.normalize(absPath).replace(/(.)\/$/, '$1');
}
