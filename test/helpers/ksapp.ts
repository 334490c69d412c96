import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { Cgroup, cgroupRoot } from '../../cgroups/index.js';
import { CLI_PATH } from '../../src/demo/ksapp-process.js';
import { writeLabConfig } from '../../src/demo/lab-config.js';
import { tableExists, waitUntil } from '../../src/demo/wait.js';
import type { Lab } from '../../src/lab/index.js';

export { tableExists };

/** Writes a config for ksapp in the lab's client namespace and returns its path. */
export function labConfig(lab: Lab, name: string, extra: string | { probe?: boolean; extra?: string[] } = ''): Promise<string> {
  const o = typeof extra === 'string' ? { extra: extra ? [extra] : [] } : extra;
  return writeLabConfig(lab, name, { cgroupParent: `ksapp-t-${lab.suffix}`, ...o });
}

/** The daemon socket of a lab: one daemon per network namespace. */
export function labSocket(lab: Lab): string {
  return path.join(lab.dir, 'ksapp.sock');
}

/** Runs the ksapp CLI inside the lab's client namespace, talking to the lab's daemon. */
export function ksappIn(lab: Lab, args: readonly string[], options: Options = {}) {
  const argv = [...lab.nsenterArgs('client'), process.execPath, CLI_PATH, ...asRootWhereMeant(args, options.env)];
  return execa(argv[0]!, argv.slice(1), {
    reject: false, ...(options.input === undefined ? { stdin: 'ignore' as const } : {}), ...options, env: { KSAPP_SOCKET: labSocket(lab), ...(options.env ?? {}) },
  });
}

/**
 * The tests run as root without sudo, where `ksapp run` refuses to start an app as root unless told:
 * lab apps are the tests' own, so they say so (a test that sets SUDO_UID runs its app as that user).
 */
export function asRootWhereMeant(args: readonly string[], env: Options['env']): string[] {
  const viaSudo = env !== undefined && 'SUDO_UID' in env;
  return args[0] === 'run' && !viaSudo && !args.includes('--as-root') ? ['run', '--as-root', ...args.slice(1)] : [...args];
}

/** Waits until the daemon that `ksapp run` started has left and removed its table (it leaves once idle). */
export async function daemonGone(lab: Lab, timeoutMs = 5000): Promise<boolean> {
  // The lock file goes last, after the table, routing and cgroups.
  return waitUntil(async () => !existsSync(`${labSocket(lab)}.lock`) && !(await tableExists(lab)), timeoutMs, 50);
}


/** Kills whatever is left in a test's cgroup parent and removes the groups (cgroups are not per namespace). */
export async function removeTestGroups(lab: Lab): Promise<void> {
  const root = await cgroupRoot();
  const dir = path.join(root, `ksapp-t-${lab.suffix}`);
  if (!existsSync(dir)) return;
  const group = Cgroup.open(dir);
  await group.thaw().catch(() => undefined);
  await group.kill().catch(() => undefined);
  await group.remove();
}

/** The daemon's view in one line, for failure messages: tunnel state and reason, each app's state, the latest events. */
export async function daemonView(lab: Lab): Promise<string> {
  const res = await ksappIn(lab, ['status', '--json']);
  const log = (await readFile(`${labSocket(lab)}.log`, 'utf8').catch(() => '')).trim().split('\n').slice(-6).join(' ⏎ ');
  if (res.exitCode !== 0) return `no daemon status: ${String(res.stderr).trim()}; daemon log: ${log || 'none'}`;
  const s = JSON.parse(String(res.stdout)) as { tunnel: { state: string; reason: string }; apps: { name: string; state: string; pids: number[] }[]; events: { type: string; app?: string; detail?: string }[] };
  const apps = s.apps.map((a) => `${a.name} ${a.state} pids ${a.pids.join(',')}`).join('; ');
  const events = s.events.slice(-8).map((e) => `${e.type}${e.app ? ` ${e.app}` : ''}${e.detail ? ` (${e.detail})` : ''}`).join(' | ');
  return `tunnel ${s.tunnel.state} (${s.tunnel.reason}); apps: ${apps || 'none'}; events: ${events}; daemon log: ${log || 'none'}`;
}
