import { constants } from 'node:os';
import path from 'node:path';
import { tunnelsOf, type Command } from '../cli/args.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectOrStart } from '../daemon/autostart.js';
import { KsappError } from '../errors.js';
import type { DaemonClient } from '../ipc/client.js';
import type { Registration, Status, StreamMessage } from '../ipc/protocol.js';
import { socketPathFrom } from '../ipc/socket-path.js';
import { cgroupRoot } from '../../cgroups/index.js';
import { dnsBypassWarning, invokingUser, registrationProblem, startNotice, stateLine, launchArgv, localDnsBypasses, requireCommand, spawnApp, startStopped, waitStopped, type AppProcess } from '../launch/index.js';
import { formatError } from '../errors.js';

type RunCommand = Extract<Command, { kind: 'run' }>;

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

/**
 * `ksapp run`: asks the daemon (started if needed) for an app group and its
 * rules, then starts the app inside that group and stays its foreground:
 * stdio, signals and exit status are the app's.
 */
export async function runCommand(cmd: RunCommand): Promise<number> {
  const executable = requireCommand(cmd.command[0]!, process.env.PATH);
  refuseRootApp(cmd, executable);
  // One handler from start to end, never removed in between (a signal arriving while none is installed
  // would end ksapp run by default and orphan the app): it goes to the app while the app runs; before
  // (registering, waiting for a tunnel) or between two runs it ends ksapp run as it would end the app.
  let current: AppProcess | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (current) current.child.kill(signal);
    else if (signal !== 'SIGWINCH') process.exit(128 + (constants.signals[signal] ?? 1));
  };
  for (const s of FORWARDED) process.on(s, onSignal);
  const stopSignals = (): void => { for (const s of FORWARDED) process.off(s, onSignal); };
  let registered: Awaited<ReturnType<typeof registerApp>>;
  try {
    registered = await registerApp(cmd, executable);
  } catch (error) {
    stopSignals();
    throw error;
  }
  const { client, reg } = registered;
  let closing = false;
  try {
    let restart: (() => void) | undefined;
    let tunnelUp: (() => void) | undefined;
    const waitTunnel = new Promise<void>((resolve) => { tunnelUp = resolve; });
    await client.subscribe((m: StreamMessage) => {
      if (m.type !== 'event') return;
      // Any tunnel of its list coming up lets a killed app start (the daemon moves it there).
      if (m.event.type === 'tunnel-up' && (m.event.tunnel === undefined || tunnelsOf(cmd) === undefined || tunnelsOf(cmd)!.includes(m.event.tunnel))) tunnelUp?.();
      const line = stateLine(m.event, reg.name);
      if (line) process.stderr.write(`ksapp: ${line}\n`);
      if (m.event.type === 'app-restart' && m.event.app === reg.name) restart?.();
    }, { status: false });
    const { line, refusal } = startNotice(reg, cmd.onDrop, cmd.noWait, tunnelsOf(cmd));
    if (refusal) throw refusal;
    if (line) process.stderr.write(`ksapp: ${line}\n`);
    // Under `kill` a lost tunnel means no process at all: the app starts once the tunnel is there.
    // (Asked again now that events flow, so a tunnel that came back in between is not waited for.)
    if (line && cmd.onDrop === 'kill' && (await client.request<Status>({ op: 'status' })).apps.find((a) => a.name === reg.name)?.state === 'killed') await waitTunnel;
    const user = invokingUser(process.env, process.getuid?.() ?? -1);
    client.onClose(() => {
      if (!closing) process.stderr.write('ksapp: lost the daemon; the app stays confined by the firewall, but is no longer frozen on tunnel loss\n');
    });
    const command = [executable, ...cmd.command.slice(1)];
    for (const line of dnsNotices(reg)) process.stderr.write(`ksapp: ${line}\n`);
    const [file, args] = launchArgv({ procsFile: path.join(reg.cgroup, 'cgroup.procs'), resolvConf: reg.resolvConf, user, command });
    const start = (): AppProcess => (isRoot() ? spawnApp(file, args) : startThroughDaemon(client, reg.name, command));
    for (;;) {
      const waitRestart = new Promise<'restart'>((resolve) => { restart = () => resolve('restart'); });
      current = start();
      const status = await current.status;
      current = undefined;
      // Killed by the kill switch with --restart: wait for the tunnel, then start the same command again.
      if (!(cmd.restart && cmd.onDrop === 'kill' && status === 128 + constants.signals.SIGKILL)) {
        // Closing the connection tells the daemon we are done; it cleans up without keeping us waiting.
        return status;
      }
      await waitRestart;
    }
  } finally {
    stopSignals();
    closing = true;
    client.close();
  }
}

/** Registers the app with the daemon; a daemon that is just leaving is waited out and a new one started. */
async function registerApp(cmd: RunCommand, executable: string): Promise<{ client: DaemonClient; reg: Registration }> {
  const user = invokingUser(process.env, process.getuid?.() ?? -1);
  for (const deadline = Date.now() + 15_000; ;) {
    const client = await connectOrStart({ socketPath: socketPathFrom(cmd.socket), configFile: cmd.config, tunnel: cmd.tunnel, dns: cmd.dns });
    try {
      const reg = await client.request<Registration>({
        op: 'register', name: cmd.name, onDrop: cmd.onDrop, allowLan: cmd.allowLan, restart: cmd.restart,
        uid: user?.uid ?? 0, command: [executable, ...cmd.command.slice(1)], cwd: process.cwd(), ...(tunnelsOf(cmd) ? { tunnels: tunnelsOf(cmd) } : {}),
      });
      const problem = registrationProblem(reg, await cgroupRoot());
      if (problem) {
        throw new KsappError(`the daemon's answer cannot be used: ${problem}`, {
          code: 'BAD_REGISTRATION', hint: 'nothing was started; check that the socket belongs to root\'s ksapp daemon (ksapp status)',
        });
      }
      return { client, reg };
    } catch (error) {
      client.close();
      const leaving = error instanceof KsappError && (error.code === 'DAEMON_STOPPING' || error.code === 'DAEMON_GONE');
      if (!leaving || Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Root without sudo has no user to drop to, so the app would run as root —
 * and a root app can change the rules, leave its cgroup or send raw frames.
 * That is refused unless the user says they mean it.
 */
function refuseRootApp(cmd: RunCommand, executable: string): void {
  if (!isRoot() || cmd.asRoot || invokingUser(process.env, 0) !== null) return;
  throw new KsappError(`refusing to start ${executable} as root: a root app can undo its own confinement (change the firewall, leave its cgroup, send raw frames)`, {
    code: 'RUN_AS_ROOT', exitCode: 2, hint: 'start it as your user through sudo (`sudo ksapp run -- …` from your own shell), or add --as-root if you mean it',
  });
}

/** What the user must know about the app's name lookups before it starts (one line each). */
function dnsNotices(reg: Registration): string[] {
  const notices: string[] = [];
  if (reg.resolvConf === null) {
    notices.push('no DNS server for the tunnel is configured (--dns ADDR or dns.servers): this app\'s lookups to a loopback resolver are dropped, ' +
      'and lookups to other resolvers travel the tunnel unchanged; give your VPN\'s resolver to make them work');
  }
  // Without root there is no private mount namespace to hide local resolver sockets in.
  const bypass = isRoot() ? null : dnsBypassWarning(reg.name, localDnsBypasses());
  if (bypass) notices.push(`warning: ${bypass}`);
  return notices;
}

/**
 * Without root the launcher cannot write cgroup.procs or make a mount
 * namespace: the app is started stopped, the daemon moves it into its group
 * after checking it is this client's own child, and only then does it run.
 */
function startThroughDaemon(client: DaemonClient, name: string, command: readonly string[]): AppProcess {
  const app = startStopped(command);
  const { child } = app;
  const pid = child.pid;
  void (async () => {
    const entered = pid !== undefined && (await waitStopped(pid)) &&
      (await client.request({ op: 'enter', name, pid }).then(() => true, (error: Error) => {
        process.stderr.write(`${formatError(error)}\n`);
        return false;
      }));
    // Never let the app run unless it is in its group.
    child.kill(entered ? 'SIGCONT' : 'SIGKILL');
  })();
  return app;
}
