// What npm runs once it has unpacked ksapp (package.json "install", through scripts/npm-install.mjs): build the
// native addons where src/native/load.ts looks for them, and, for a global install, link the shell completions
// under the prefix (npm itself links the man page, from package.json "man"). It never fails the install: what
// cannot be done is said, with the fix, and ksapp runs without it.
import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { missingFromBuildLog, missingTools, probeBuildTools, problemReport, which, type BuildTools } from './addons.js';
import { GENERATED } from './completion-model.js';
import { COMPLETIONS } from './share.js';

/** Where a message reaches the person running `npm install`. */
export type Say = (text: string) => void;

/**
 * npm hides the output of install scripts that succeed (unless --foreground-scripts), so a problem is written to
 * the terminal npm runs in, when there is one; to stderr otherwise (CI logs, --foreground-scripts).
 */
export function sayToInstaller(env: NodeJS.ProcessEnv): Say {
  return (text) => {
    if (env.npm_config_foreground_scripts !== 'true') {
      try {
        const tty = openSync('/dev/tty', 'w');
        try { writeSync(tty, text); } finally { closeSync(tty); }
        return;
      } catch { /* no terminal: stderr */ }
    }
    process.stderr.write(text);
  };
}

/** The addons binding.gyp builds, by target name. */
export function addonNames(bindingGyp: string): string[] {
  return [...bindingGyp.matchAll(/["']target_name["']\s*:\s*["'](\w+)["']/g)].map((m) => m[1]!);
}

/** node-gyp as npm provides it to install scripts, as a command line; undefined when there is none. */
function nodeGyp(env: NodeJS.ProcessEnv): string[] | undefined {
  if (env.npm_config_node_gyp) return [process.execPath, env.npm_config_node_gyp];
  const bin = which(['node-gyp'], env.PATH);
  return bin ? [bin] : undefined;
}

/** node-gyp's arguments and environment for this machine (pure). */
export function buildInvocation(tools: BuildTools, env: NodeJS.ProcessEnv, hasCxx: boolean): { args: string[]; env: NodeJS.ProcessEnv } {
  const args = ['rebuild', '--directory=src/native'];
  // Headers next to this node (nodejs.org and NodeSource builds ship include/node): build offline with them.
  if (tools.nodeHeaders.kind === 'dir' && tools.nodeHeaders.from === 'next-to-node') args.push(`--nodedir=${tools.nodeHeaders.dir}`);
  // gyp's Makefiles link with $(CXX), g++ by default; the addons are plain C, so the C compiler links them as well.
  const link = !env.LINK && !env.CXX && !hasCxx && tools.compiler ? { LINK: tools.compiler } : {};
  return { args, env: { ...env, ...link } };
}

/** Builds the addons into src/native/build/Release; says what is missing when it cannot. True when all were built. */
export function buildAddons(pkgDir: string, env: NodeJS.ProcessEnv, say: Say): boolean {
  const native = path.join(pkgDir, 'src', 'native');
  const log = path.join(native, 'install.log');
  const tools = probeBuildTools(env);
  const gyp = nodeGyp(env);
  const missing = [...missingTools(tools), ...(gyp ? [] : [{ what: 'node-gyp (npm ships it; run the install through npm)' }])];
  if (missing.length > 0) {
    writeFileSync(log, `${JSON.stringify(tools, null, 2)}\n`);
    say(problemReport(missing, {}));
    return false;
  }
  const { args, env: buildEnv } = buildInvocation(tools, env, which(['c++', 'g++'], env.PATH) !== undefined);
  const run = spawnSync(gyp![0]!, [...gyp!.slice(1), ...args], { cwd: pkgDir, env: buildEnv, encoding: 'utf8', maxBuffer: 64 << 20 });
  const output = `$ ${[...gyp!, ...args].join(' ')}\n${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? `\n${run.error.message}\n` : ''}`;
  writeFileSync(log, output);
  const wanted = addonNames(readFileSync(path.join(native, 'binding.gyp'), 'utf8'));
  const built = new Set(safeList(path.join(native, 'build', 'Release')));
  const absent = wanted.filter((name) => !built.has(`${name}.node`));
  if (run.status === 0 && absent.length === 0) {
    process.stdout.write(`ksapp: built its native addons (${wanted.join(', ')})\n`);
    return true;
  }
  const tail = output.trimEnd().split('\n').filter((l) => l.trim() !== '').slice(-8).join('\n');
  say(problemReport(missingFromBuildLog(output), { log, logTail: tail }));
  return false;
}

function safeList(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** Where each completion is linked for a global install under `prefix`, and what it points to (pure). */
export function completionLinks(pkgDir: string, prefix: string): Array<{ link: string; target: string }> {
  return Object.values(COMPLETIONS).map((relative) => {
    const link = path.join(prefix, 'share', relative);
    return { link, target: path.relative(path.dirname(link), path.join(pkgDir, 'dist', 'share', relative)) };
  });
}

/** Links the completions under the prefix (as npm links the man page), replacing only what is ours. */
export function linkCompletions(pkgDir: string, prefix: string, say: Say): string[] {
  const linked: string[] = [];
  for (const { link, target } of completionLinks(pkgDir, prefix)) {
    const existing = lstatOrUndefined(link);
    if (existing && !existing.isSymbolicLink() && !(existing.isFile() && readFileSync(link, 'utf8').includes(GENERATED))) {
      say(`ksapp: left ${link} alone (not ksapp's); its completion is in ${path.resolve(path.dirname(link), target)}\n`);
      continue;
    }
    if (existing) rmSync(link);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(target, link);
    linked.push(link);
  }
  return linked;
}

function lstatOrUndefined(file: string): ReturnType<typeof lstatSync> | undefined {
  try { return lstatSync(file); } catch { return undefined; }
}

/** The global prefix `pkgDir` was installed under (PREFIX/lib/node_modules/ksapp), or undefined (pure). */
export function globalPrefix(pkgDir: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.npm_config_global !== 'true') return undefined;
  const modules = path.dirname(pkgDir);
  if (path.basename(modules) !== 'node_modules' || path.basename(path.dirname(modules)) !== 'lib') return undefined;
  return path.dirname(path.dirname(modules));
}

/** The install hook: builds the addons, links the completions of a global install; always 0 (see above). */
export function installHook(pkgDir: string, env: NodeJS.ProcessEnv, say: Say = sayToInstaller(env)): number {
  try {
    buildAddons(pkgDir, env, say);
    const prefix = globalPrefix(pkgDir, env);
    if (prefix !== undefined) {
      const linked = linkCompletions(pkgDir, prefix, say);
      if (linked.length > 0) process.stdout.write(`ksapp: completions linked: ${linked.join(', ')}\n`);
    }
  } catch (error) {
    say(`ksapp: the install hook failed: ${(error as Error).message}\nksapp: ksapp is installed; run \`sudo npm rebuild -g ksapp\` to try again.\n`);
  }
  return 0;
}
