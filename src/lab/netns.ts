import { execa, type ResultPromise } from 'execa';
import { runTool, tools } from '../tools.js';

/** Where `ip netns` keeps its named namespaces. */
export const NETNS_DIR = '/run/netns';

/** The argv prefix that runs a command inside a named namespace, keeping the cgroup2 mount visible. */
export function nsenterArgs(ns: string): string[] {
  // nsenter rather than `ip netns exec`: the latter remounts /sys and hides cgroup2.
  return ['nsenter', `--net=${NETNS_DIR}/${ns}`, '--'];
}

/** Runs a command inside a namespace and returns its stdout. */
export async function execIn(ns: string, argv: readonly string[], input?: string): Promise<string> {
  const [file, ...args] = nsenterArgs(ns);
  return runTool(file!, [...args, ...argv], input);
}

/** Runs many `ip` commands in one namespace with a single process (`ip -n NS -batch -`). */
export async function ipBatch(ns: string, lines: readonly string[], force = false): Promise<void> {
  const args = ['-n', ns, ...(force ? ['-force'] : []), '-batch', '-'];
  if (lines.length > 0) await runTool(tools.ip, args, lines.join('\n') + '\n');
}

/** Loads an nft script into a namespace in one transaction. */
export async function nftIn(ns: string, script: string): Promise<void> {
  await execIn(ns, ['nft', '-f', '-'], script);
}

/** Sets sysctls inside a namespace (/proc/sys/net follows the caller's network namespace). */
export async function sysctlIn(ns: string, settings: Readonly<Record<string, string>>): Promise<void> {
  const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await execIn(ns, ['sysctl', '-q', '-w', ...args]);
}

/** Creates a named network namespace with loopback up. */
export async function addNamespace(ns: string): Promise<void> {
  await runTool(tools.ip, ['netns', 'add', ns]);
  await runTool(tools.ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
}

/** Parses `ip netns list` output ("NAME" or "NAME (id: N)" per line) into names. */
export function parseNetnsList(text: string): string[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

/** Lists the named network namespaces. */
export async function listNamespaces(): Promise<string[]> {
  return parseNetnsList(await runTool(tools.ip, ['netns', 'list']));
}

/** Pids of every process whose network namespace is the named one. */
export async function namespacePids(ns: string): Promise<number[]> {
  try {
    const out = await runTool(tools.ip, ['netns', 'pids', ns]);
    return out.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Spawns a long-running process inside a namespace, its output appended to a log file. */
export function spawnIn(ns: string, argv: readonly string[], logFile: string, stdout: 'pipe' | 'log' = 'log'): ResultPromise {
  const [file, ...args] = nsenterArgs(ns);
  // Detached: a Ctrl-C in the terminal reaches only us, so teardown happens in order.
  return execa(file!, [...args, ...argv], {
    detached: true,
    stdin: 'ignore',
    stdout: stdout === 'pipe' ? 'pipe' : { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
    buffer: false,
  });
}
