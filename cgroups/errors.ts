import { KsappError } from '../src/errors.js';

/** Every failure of the cgroup library; `code` says which (see `cgroupErrorFor`). */
export class CgroupError extends KsappError {}

/** Wraps a failed filesystem call on a cgroup file in a CgroupError that says what to do. */
export function cgroupErrorFor(action: string, path: string, cause: unknown): CgroupError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  const what = `cannot ${action} (${path})`;
  switch (errno) {
    case 'ENOENT':
      return new CgroupError(`${what}: the cgroup does not exist`, {
        code: 'CGROUP_NOT_FOUND', cause,
        hint: 'create the group first, or check that the cgroup2 filesystem is mounted',
      });
    case 'EACCES':
    case 'EPERM':
      return new CgroupError(`${what}: permission denied`, {
        code: 'CGROUP_PERMISSION', cause, hint: 'run ksapp as root (sudo)',
      });
    case 'EBUSY':
      return new CgroupError(`${what}: the cgroup is busy (it still holds processes, or has controllers enabled)`, {
        code: 'CGROUP_BUSY', cause, hint: 'kill or move its processes first (`ksapp kill NAME`)',
      });
    default:
      return new CgroupError(`${what}: ${(cause as Error | undefined)?.message ?? String(cause)}`, {
        code: 'CGROUP_IO', cause, userFixable: false,
      });
  }
}
