import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from '../cli/args.js';
import { formatError } from '../errors.js';
import { DEFAULT_SOCKET, socketPathFrom } from '../ipc/socket-path.js';
import { NotifyAgent } from '../notify/agent.js';
import { sessionBusAddress } from '../notify/bus-address.js';
import { DaemonLink } from '../notify/daemon-link.js';
import { Desktop } from '../notify/desktop.js';
import { noSessionBus, startedAsRoot } from '../notify/errors.js';
import { openDashboard } from '../notify/terminal.js';

type NotifyCommand = Extract<Command, { kind: 'notify' }>;

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/**
 * `ksapp notify`: the per-user desktop notification agent. Runs as the
 * desktop user (root is refused: exit 2), posts to that user's session bus
 * (none: exit 1), follows the daemon's events until SIGTERM, SIGINT or SIGHUP
 * (exit 0) or until the session bus goes away (exit 1).
 */
export async function notifyCommand(cmd: NotifyCommand): Promise<number> {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0 || process.geteuid?.() === 0) throw startedAsRoot();
  const address = sessionBusAddress(process.env, uid, existsSync);
  if (address === undefined) throw noSessionBus(uid);
  const desktop = await Desktop.connect(address);
  const socketPath = socketPathFrom(cmd.socket);
  log(`notifying uid ${uid} on ${address}; following the daemon at ${socketPath}`);
  return follow(uid, desktop, socketPath);
}

function log(line: string): void {
  process.stderr.write(`ksapp notify: ${line}\n`);
}

/** Wires the daemon link, the agent and the desktop together; resolves to the exit status. */
function follow(uid: number, desktop: Desktop, socketPath: string): Promise<number> {
  const tui = [process.execPath, CLI, ...(socketPath === DEFAULT_SOCKET ? [] : ['--socket', socketPath]), 'tui'];
  return new Promise<number>((resolve) => {
    let link: DaemonLink | undefined;
    const agent = new NotifyAgent({
      uid, desktop, log, openDashboard: () => openDashboard(tui),
      apps: () => link!.apps(), thaw: (name) => link!.thaw(name),
    });
    let ended = false;
    const finish = (code: number, why?: string): void => {
      if (ended) return;
      ended = true;
      if (why) process.stderr.write(`${why}\n`);
      link?.stop();
      agent.stop();
      desktop.close();
      resolve(code);
    };
    link = new DaemonLink(socketPath, {
      onUp: (apps) => agent.up(apps), onEvent: (e) => agent.event(e), onDown: (why) => agent.down(why),
      onFatal: (error) => finish(error.exitCode, formatError(error)),
    }, log);
    desktop.onAction((key, action) => void agent.action(key, action));
    desktop.onGone((why) => finish(1, `ksapp notify: ${why}; leaving`));
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => finish(0));
    link.start();
  });
}
