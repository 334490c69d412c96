import path from 'node:path/posix';
import { isBelowPath } from '../../cgroups/index.js';
import { appNameProblem } from '../app-name.js';
import type { Registration } from '../ipc/protocol.js';

/**
 * Why a daemon's answer to `register` must not be used, or undefined (pure).
 * `ksapp run` writes its own pid into the group the answer names, so that
 * group must be the named app's, right below a parent below the cgroup2
 * mount — never the mount itself, another branch, or a path with tricks.
 */
export function registrationProblem(reg: Registration, cgroupRoot: string): string | undefined {
  const name = appNameProblem(reg.name);
  if (name) return `the app name it returned ${name}`;
  if (!isBelowPath(reg.parent, cgroupRoot)) return `its parent group ${JSON.stringify(reg.parent)} is not below ${cgroupRoot}`;
  if (reg.cgroup !== path.join(reg.parent, reg.name)) return `the group ${JSON.stringify(reg.cgroup)} is not ${reg.name} right below ${reg.parent}`;
  return undefined;
}
