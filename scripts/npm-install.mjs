// package.json "install": npm runs this once it has unpacked ksapp, and again on `npm rebuild ksapp`. In an
// installed package it builds the native addons and links the shell completions (src/packaging/install-hook.ts).
// In a developer's clone (`npm ci`) it does nothing: dist/ is not built yet, and `npm run build` builds the addons.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
if (path.basename(path.dirname(root)) === 'node_modules') {
  const { installHook } = await import('../dist/src/packaging/install-hook.js');
  process.exitCode = installHook(root, process.env);
}
