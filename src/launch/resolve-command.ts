import { KsappError } from '../errors.js';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Finds an executable the way execvp would; undefined when there is none (pure apart from stat). */
export function resolveCommand(name: string, pathVar: string | undefined): string | undefined {
  const candidates = name.includes('/') ? [name] : (pathVar ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Resolves the app's command or fails with a usage error (exit 2) naming it. */
export function requireCommand(name: string, pathVar: string | undefined): string {
  const found = resolveCommand(name, pathVar);
  if (found === undefined) {
    throw new KsappError(`command not found: ${name}`, {
      code: 'COMMAND_NOT_FOUND', exitCode: 2, hint: 'check the spelling, or give the full path of the program after --',
    });
  }
  return found;
}
