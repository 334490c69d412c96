import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Cgroup, parseProcCgroup } from '../../cgroups/index.js';

/**
 * Under systemd with Delegate=yes the service's cgroup is the daemon's own
 * subtree: returns it (relative to the cgroup2 root) when this process runs as
 * a service, else undefined (pure).
 */
export function delegatedBase(procSelfCgroup: string, env: NodeJS.ProcessEnv): string | undefined {
  const own = parseProcCgroup(procSelfCgroup);
  if (!env.INVOCATION_ID || !own || !own.endsWith('.service')) return undefined;
  return own.replace(/^\//, '');
}

/**
 * Where app groups go: below the delegated service cgroup under systemd (the
 * daemon moves itself into a `daemon` leaf so the subtree keeps no processes
 * of its own at the top), else `/<cgroupParent>`.
 */
export async function appParent(root: string, cgroupParent: string): Promise<string> {
  const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  const base = delegatedBase(text, process.env);
  if (!base) return cgroupParent;
  const leaf = await Cgroup.create(path.join(root, base, 'daemon'));
  await leaf.addPid(process.pid);
  return path.posix.join(base, cgroupParent);
}
