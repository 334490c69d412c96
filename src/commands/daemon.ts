import type { Command } from '../cli/args.js';
import { Daemon } from '../daemon/daemon.js';
import { connectOrStart } from '../daemon/autostart.js';
import { socketPathFrom } from '../ipc/socket-path.js';
import { requireRoot } from './tunnel-check.js';

type DaemonCommand = Extract<Command, { kind: 'daemon' }>;

/** `ksapp daemon`: serves in the foreground, or starts itself in the background and returns once it answers. */
export async function daemonCommand(cmd: DaemonCommand): Promise<number> {
  requireRoot('daemon');
  const socketPath = socketPathFrom(cmd.socket);
  if (!cmd.foreground) {
    const client = await connectOrStart({ socketPath, configFile: cmd.config, tunnel: cmd.tunnel, dns: cmd.dns, exitWhenIdle: cmd.exitWhenIdle });
    client.close();
    process.stdout.write(`ksapp daemon is serving ${socketPath}\n`);
    return 0;
  }
  const daemon = new Daemon({
    socketPath, configFile: cmd.config, tunnel: cmd.tunnel, dns: cmd.dns, exitWhenIdle: cmd.exitWhenIdle,
    eventLogFile: process.env.KSAPP_EVENT_LOG ?? `${socketPath}.events.jsonl`,
  });
  await daemon.start();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void daemon.stop());
  process.stderr.write(`ksapp daemon (pid ${process.pid}) serving ${socketPath}\n`);
  await daemon.stopped;
  return 0;
}
