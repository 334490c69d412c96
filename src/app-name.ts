// The one check of an app name, used by the CLI, the socket API, the config and the saved state:
// a name becomes a cgroup directory under ksapp's parent, so it must be exactly one safe path component.
import { CGROUP_NAME_RULE, cgroupNameProblem } from '../cgroups/index.js';
import { KsappError } from './errors.js';

/** What an app name may be, for messages and hints. */
export const APP_NAME_RULE = CGROUP_NAME_RULE;

/** An app name that cannot be used. */
export class AppNameError extends KsappError {}

/** Why `name` is not a usable app name, or undefined when it is (pure). */
export function appNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  return cgroupNameProblem(name);
}

/** Throws AppNameError (exit 2) unless `name` is a usable app name. */
export function checkAppName(name: unknown, where = 'app name'): asserts name is string {
  const problem = appNameProblem(name);
  if (problem) throw new AppNameError(`${where} ${problem}`, { code: 'BAD_APP_NAME', exitCode: 2, hint: `use ${APP_NAME_RULE}` });
}
