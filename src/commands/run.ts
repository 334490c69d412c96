import { appendFileSync, existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { constants } from 'node:os';
import { cgroupRoot } from '../../cgroups/index.js';
import type { Command } from '../cli/args.js';
import { UsageError } from '../cli/args.js';
import { loadOptionalConfig } from './config-source.js';
import { invokingUser, launchArgv, requireCommand, resolvConfText } from '../launch/index.js';
import { TunnelMonitor, detectTunnel } from '../monitor/index.js';
import { defaultAppName, Supervisor, uniqueName, type App, type SupervisorEvent } from '../supervisor/index.js';
import { requireInterface, requireRoot } from './tunnel-check.js';
import { splitFamilies } from './families.js';

type RunCommand = Extract<Command, { kind: 'run' }>;

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

/** `ksapp run`: starts one app confined to the tunnel, supervised in this process, and returns its exit status. */
export async function runCommand(cmd: RunCommand): Promise<number> {
  requireRoot('run');
  const executable = requireCommand(cmd.command[0]!, process.env.PATH);
  const config = await loadOptionalConfig(cmd.config);
  const iface = cmd.tunnel ?? config?.tunnel.interface ?? (await detectTunnel());
  await requireInterface(iface);
  const root = await cgroupRoot();
  const dns = splitFamilies(cmd.dns.length ? cmd.dns : config?.dns.servers ?? []);
  const monitor = new TunnelMonitor({
    iface, handshakeTimeoutMs: config?.tunnel.handshakeTimeout ?? 180_000,
    probe: config?.tunnel.probe && { address: config.tunnel.probe.address, intervalMs: config.tunnel.probe.interval, failures: config.tunnel.probe.failures },
  });
  let relaunch: (() => void) | undefined;
  const sup = new Supervisor({
    tunnelIface: iface, cgroupRoot: root, cgroupParent: config?.cgroupParent ?? 'ksapp', dns,
    lan: splitFamilies(config?.lan.ranges ?? []), monitor,
    restart: async () => relaunch?.(),
  });
  const eventLog = process.env.KSAPP_EVENT_LOG;
  if (eventLog) sup.on('event', (e: SupervisorEvent) => appendFileSync(eventLog, `${JSON.stringify(e)}\n`));
  await sup.start();
  const name = uniqueName(cmd.name ?? defaultAppName(cmd.command[0]!), (n) => sup.apps.has(n) || existsGroup(sup, n));
  if (cmd.name && name !== cmd.name) throw new UsageError(`an app named "${cmd.name}" is already protected`, 'choose another --name');
  const runDir = path.join('/run/ksapp', `run-${process.pid}`);
  let app: App | undefined;
  try {
    app = await sup.addApp({ name, onDrop: cmd.onDrop, allowLan: cmd.allowLan || config?.lan.allow === true, restart: cmd.restart });
    let resolvConf: string | null = null;
    if (dns.v4.length + dns.v6.length > 0) {
      await mkdir(runDir, { recursive: true, mode: 0o755 });
      resolvConf = path.join(runDir, 'resolv.conf');
      await writeFile(resolvConf, resolvConfText([...dns.v4, ...dns.v6]), { mode: 0o644 });
    }
    const [file, args] = launchArgv({
      procsFile: path.join(app.cgroup.path, 'cgroup.procs'), resolvConf,
      user: invokingUser(process.env, process.getuid?.() ?? -1), command: [executable, ...cmd.command.slice(1)],
    });
    for (;;) {
      const status = await supervise(execa(file, args, { stdio: 'inherit', reject: false }));
      if (!(app.state === 'killed' && app.restart)) return status;
      // Killed by the kill switch: wait for the tunnel, then start the same command again.
      await new Promise<void>((resolve) => { relaunch = resolve; });
      app.state = 'running';
    }
  } finally {
    if (app) await sup.removeApp(app.name).catch(() => undefined);
    await sup.stop();
    await rm(runDir, { recursive: true, force: true });
  }
}

/** Waits for the child, forwarding signals, and returns a shell-style exit status. */
async function supervise(child: ResultPromise): Promise<number> {
  const forward = (signal: NodeJS.Signals): void => { child.kill(signal); };
  for (const s of FORWARDED) process.on(s, forward);
  try {
    const result = await child;
    if (result.signal) return 128 + (constants.signals[result.signal] ?? 0);
    return result.exitCode ?? 1;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}

/** A group of that name may belong to another ksapp run in this namespace. */
function existsGroup(sup: Supervisor, name: string): boolean {
  return existsSync(sup.parent.child(name).path);
}
