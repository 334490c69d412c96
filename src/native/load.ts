import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The addons are built by node-gyp into src/native/build; compiled code runs from dist/src/native.
const CANDIDATES = ['../../../src/native/build/Release/', './build/Release/'];

/** Loads the native addon `name`; undefined when it was not built (each caller says what it does without). */
export function loadAddon<T>(name: 'execguard' | 'flock' | 'icmpprobe' | 'peercred' | 'pidfd' | 'procevents' | 'rtnetlink' | 'sockmark'): T | undefined {
  const require = createRequire(import.meta.url);
  for (const dir of CANDIDATES) {
    const file = fileURLToPath(new URL(`${dir}${name}.node`, import.meta.url));
    if (existsSync(file)) return require(file) as T;
  }
  return undefined;
}
