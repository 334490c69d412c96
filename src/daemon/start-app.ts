import { splitAllow } from '../config/allow.js';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { AppConfig } from '../config/index.js';
import { waitForEvents } from '../../cgroups/index.js';
import { launchArgv, requireCommand } from '../launch/index.js';
import { SupervisorError, type App, type Supervisor } from '../supervisor/index.js';
import { findAccount } from '../users.js';

/** The account a config app runs as: its `user`, else root. */
export function configUser(app: AppConfig): { uid: number; gid: number } | null {
  if (app.user === undefined) return null;
  const account = findAccount(app.user);
  if (!account) {
    throw new SupervisorError(`app ${app.name}: user "${app.user}" does not exist`, {
      code: 'CONFIG_USER_UNKNOWN', exitCode: 2, hint: 'fix `user:` in the config (a user name or a numeric uid)',
    });
  }
  return account.uid === 0 ? null : { uid: account.uid, gid: account.gid };
}

/**
 * Starts a config app by name (`ksapp start NAME`): a group and rules first,
 * then the launcher, detached, its output in a log file under the daemon's
 * run directory. The group's `populated 0` tells the daemon when it is over.
 */
export async function startConfigApp(sup: Supervisor, app: AppConfig, runDir: string, resolvConf: string | null): Promise<App> {
  if (!app.command?.length) {
    throw new SupervisorError(`app ${app.name} has no command in the config`, {
      code: 'APP_NO_COMMAND', exitCode: 2, hint: 'give it `command: [program, args…]`, or start it with `ksapp run`',
    });
  }
  const user = configUser(app);
  const executable = requireCommand(app.command[0]!, process.env.PATH);
  const added = await sup.addApp({
    name: app.name, onDrop: app.onDrop, allowLan: app.allowLan, restart: app.restart, uid: user?.uid ?? 0, origin: 'config',
    ...(app.tunnel ? { tunnels: app.tunnel } : {}), failback: app.failback, ...(app.allow?.length ? { allow: splitAllow(app.allow) } : {}),
  });
  try {
    await launchDetached(sup, added, [executable, ...app.command.slice(1)], user, runDir, resolvConf);
  } catch (error) {
    await sup.removeApp(app.name).catch(() => undefined);
    throw error;
  }
  return added;
}

/**
 * Runs the launcher for an app already registered (first start and restarts),
 * waits until its process is in the group, then watches the group for its end.
 */
export async function launchDetached(sup: Supervisor, app: App, command: string[], user: { uid: number; gid: number } | null, runDir: string, resolvConf: string | null): Promise<void> {
  const [file, args] = launchArgv({ procsFile: path.join(app.cgroup.path, 'cgroup.procs'), resolvConf, user, command });
  const log = openSync(path.join(runDir, `${app.name}.log`), 'a', 0o600);
  let started: Promise<Error | undefined>;
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', log, log], cwd: '/' });
    // Node reports a spawn that failed (EMFILE, ENOMEM, EAGAIN) as an 'error' event: unheard, it would end the daemon.
    started = new Promise((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  const failed = await started;
  if (failed) {
    throw new SupervisorError(`could not start ${app.name}: ${failed.message}`, {
      code: 'APP_START_FAILED', cause: failed, hint: 'the daemon may be short of file descriptors or memory; see `ksapp status` and try again',
    });
  }
  await waitForEvents(path.join(app.cgroup.path, 'cgroup.events'), (e) => e.populated, 3000, {
    action: `start ${app.name}`, hint: `see ${path.join(runDir, `${app.name}.log`)}`,
  });
  sup.watchExit(app);
}
