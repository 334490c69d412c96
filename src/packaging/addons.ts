// Can this machine build ksapp's native addons, and if not, what exactly to install: facts in, verdict out (pure),
// plus the few lines that gather the facts.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where node-gyp will take Node's own headers (node_api.h) from. */
export type NodeHeaders =
  | { readonly kind: 'dir'; readonly dir: string; readonly from: 'nodedir' | 'next-to-node' | 'cache' }
  | { readonly kind: 'download'; readonly version: string }
  | { readonly kind: 'missing'; readonly dir: string };

/** What the machine offers for the build, as `probeBuildTools` finds it. */
export interface BuildTools {
  /** The C compiler (CC, else cc, gcc or clang on the PATH). */
  readonly compiler?: string;
  readonly make?: string;
  readonly python?: string;
  /** The C library's headers (<stdio.h>, <sys/socket.h>) compile. */
  readonly libcHeaders: boolean;
  /** The kernel's user-space headers (<linux/netlink.h>, <linux/cn_proc.h>) compile. */
  readonly kernelHeaders: boolean;
  readonly nodeHeaders: NodeHeaders;
}

/** One thing the build lacks: what it is, and the Debian package or step that gives it. */
export interface Missing {
  readonly what: string;
  /** A Debian package that provides it. */
  readonly apt?: string;
  /** What to do when no package says it all. */
  readonly hint?: string;
}

const NODE_HEADERS_HINT = (version: string): string =>
  `Debian's own nodejs: apt-get install libnode-dev; Node.js from nodejs.org or NodeSource ships them in PREFIX/include/node; ` +
  `or point npm at a directory holding include/node for ${version} with --nodedir=DIR, or let node-gyp reach nodejs.org`;

/** What the build lacks before it is tried (pure). */
export function missingTools(t: BuildTools): Missing[] {
  const missing: Missing[] = [];
  if (!t.compiler) missing.push({ what: 'a C compiler (cc, gcc or clang; or CC)', apt: 'gcc' });
  if (!t.make) missing.push({ what: 'make', apt: 'make' });
  if (!t.python) missing.push({ what: 'Python 3 (node-gyp runs gyp with it)', apt: 'python3' });
  if (!t.libcHeaders) missing.push({ what: "the C library's headers (<stdio.h>, <sys/socket.h>)", apt: 'libc6-dev' });
  if (!t.kernelHeaders) missing.push({ what: "the kernel's headers (<linux/netlink.h>, <linux/cn_proc.h>)", apt: 'linux-libc-dev' });
  if (t.nodeHeaders.kind === 'missing') {
    missing.push({ what: `Node.js headers: --nodedir ${t.nodeHeaders.dir} has no include/node/node_api.h`, hint: NODE_HEADERS_HINT(process.version) });
  }
  return missing;
}

/** Which package a header named in `fatal error: X: No such file` comes from (pure). */
function headerPackage(header: string): Missing {
  if (header.startsWith('linux/') || header.startsWith('asm/')) return { what: `the kernel's headers (<${header}>)`, apt: 'linux-libc-dev' };
  if (/^(node_api|js_native_api|node)(_types)?\.h$/.test(header)) return { what: `Node.js headers (<${header}>)`, hint: NODE_HEADERS_HINT(process.version) };
  return { what: `the C library's headers (<${header}>)`, apt: 'libc6-dev' };
}

/** What a failed node-gyp run's output says is missing (pure); empty when it says nothing we know. */
export function missingFromBuildLog(log: string): Missing[] {
  const found = new Map<string, Missing>();
  const add = (m: Missing): void => void found.set(m.what, m);
  for (const match of log.matchAll(/fatal error: ([\w./+-]+): No such file or directory/g)) add(headerPackage(match[1]!));
  const tools = [...log.matchAll(/(?:^|[\s:])(cc|gcc|clang|g\+\+|c\+\+|make): (?:not found|No such file or directory|[Cc]ommand not found)/gm),
    ...log.matchAll(/not found: (cc|gcc|clang|g\+\+|c\+\+|make)\b/g)].map((m) => m[1]!);
  for (const tool of tools) {
    add(tool === 'make' ? { what: 'make', apt: 'make' } : { what: `the compiler ${tool}`, apt: tool === 'g++' || tool === 'c++' ? 'g++' : 'gcc' });
  }
  if (/find Python|Could not find any Python/i.test(log)) add({ what: 'Python 3 (node-gyp runs gyp with it)', apt: 'python3' });
  if (/gyp (?:ERR|http).*(?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|getaddrinfo)|(?:download|fetch).*(?:headers|tarball).*(?:fail|error)/i.test(log)) {
    add({ what: `Node.js ${process.version} headers: none found locally, and node-gyp could not download them`, hint: NODE_HEADERS_HINT(process.version) });
  }
  return [...found.values()];
}

/** The message an install prints when the addons cannot be built: what is missing, the apt-get line, what then (pure). */
export function problemReport(missing: readonly Missing[], o: { log?: string; logTail?: string }): string {
  const packages = [...new Set(missing.flatMap((m) => (m.apt ? [m.apt] : [])))];
  const lines = [
    'ksapp: its native addons were not built, so SO_PEERCRED (users other than root on the socket), socket marking,',
    'ksapp: exec events and the exec guard are off. ksapp is installed and runs without them; `ksapp doctor` lists what is off.',
    ...(missing.length > 0 ? missing.map((m) => `ksapp: missing: ${m.what}${m.hint ? ` (${m.hint})` : ''}`) : ['ksapp: the build failed for a reason not recognised here.']),
    ...(packages.length > 0 ? [`ksapp: install:  sudo apt-get install ${packages.join(' ')}`] : []),
    'ksapp: then build them:  sudo npm rebuild -g ksapp',
    ...(o.logTail ? ['ksapp: the end of the build output:', ...o.logTail.split('\n').map((l) => `ksapp: | ${l}`)] : []),
    ...(o.log ? [`ksapp: the whole build output: ${o.log}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** The first executable named `names` on `pathEnv` (a command's path given with a slash is checked as is). */
export function which(names: readonly string[], pathEnv: string | undefined): string | undefined {
  for (const name of names) {
    const candidates = name.includes('/') ? [name] : (pathEnv ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, name));
    for (const file of candidates) {
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch { /* not here */ }
    }
  }
  return undefined;
}

/** True when `compiler` preprocesses `#include` of each header (the one true test of "headers installed"). */
function compiles(compiler: string, headers: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const source = headers.map((h) => `#include <${h}>`).join('\n');
  return spawnSync(compiler, ['-E', '-x', 'c', '-o', '/dev/null', '-'], { input: source, env, stdio: ['pipe', 'ignore', 'ignore'] }).status === 0;
}

/** Where node-gyp finds Node's headers: npm's nodedir, the ones next to this node, node-gyp's cache, or a download. */
export function findNodeHeaders(env: NodeJS.ProcessEnv, execPath = process.execPath, version = process.version): NodeHeaders {
  const has = (dir: string): boolean => existsSync(path.join(dir, 'include', 'node', 'node_api.h'));
  const nodedir = env.npm_config_nodedir;
  if (nodedir) return has(nodedir) ? { kind: 'dir', dir: nodedir, from: 'nodedir' } : { kind: 'missing', dir: nodedir };
  const prefix = path.resolve(path.dirname(execPath), '..');
  const versionH = path.join(prefix, 'include', 'node', 'node_version.h');
  if (has(prefix) && existsSync(path.join(prefix, 'include', 'node', 'common.gypi')) && headerVersion(versionH) === version) {
    return { kind: 'dir', dir: prefix, from: 'next-to-node' };
  }
  const devdir = env.npm_config_devdir || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'node-gyp');
  const cached = path.join(devdir, version.replace(/^v/, ''));
  if (has(cached)) return { kind: 'dir', dir: cached, from: 'cache' };
  return { kind: 'download', version };
}

/** `v20.19.2` from a node_version.h, or undefined. */
function headerVersion(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    const part = (name: string): string | undefined => text.match(new RegExp(`#define NODE_${name}_VERSION (\\d+)`))?.[1];
    return `v${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
  } catch {
    return undefined;
  }
}

/** Gathers the facts `missingTools` judges. */
export function probeBuildTools(env: NodeJS.ProcessEnv): BuildTools {
  const compiler = which(env.CC ? [env.CC.split(' ')[0]!] : ['cc', 'gcc', 'clang'], env.PATH);
  const libc = ['stdio.h', 'sys/socket.h'];
  const kernel = ['linux/netlink.h', 'linux/cn_proc.h'];
  const fallback = (files: readonly string[]): boolean => files.every((h) => existsSync(path.join('/usr/include', h)) || existsSync(path.join('/usr/include', `${os.machine()}-linux-gnu`, h)));
  return {
    compiler,
    make: which(['make', 'gmake'], env.PATH),
    python: which(env.PYTHON ? [env.PYTHON] : env.npm_config_python ? [env.npm_config_python] : ['python3', 'python'], env.PATH),
    libcHeaders: compiler ? compiles(compiler, libc, env) : fallback(libc),
    kernelHeaders: compiler ? compiles(compiler, kernel, env) : fallback(kernel),
    nodeHeaders: findNodeHeaders(env),
  };
}
