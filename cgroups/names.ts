import path from 'node:path/posix';
import { CgroupError } from './errors.js';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** Throws CGROUP_BAD_NAME unless `name` is one safe path component. */
export function validateCgroupName(name: string): void {
  if (!NAME.test(name) || name === '.' || name === '..') {
    throw new CgroupError(`invalid cgroup name "${name}"`, {
      code: 'CGROUP_BAD_NAME', exitCode: 2,
      hint: 'use 1-64 characters from A-Z a-z 0-9 . _ - (not "." or "..")',
    });
  }
}

/** Normalises an absolute group path (no trailing slash); throws CGROUP_BAD_PATH for a relative one. */
export function normalizeCgroupPath(absPath: string): string {
  if (!path.isAbsolute(absPath)) {
    throw new CgroupError(`cgroup path must be absolute, got "${absPath}"`, { code: 'CGROUP_BAD_PATH', userFixable: false });
  }
  return path.normalize(absPath).replace(/(.)\/$/, '$1');
}
