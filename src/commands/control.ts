import type { Command } from '../cli/args.js';
import { connectOrStart } from '../daemon/autostart.js';
import { DaemonClient } from '../ipc/client.js';
import { socketPathFrom } from '../ipc/socket-path.js';

type ControlCommand = Extract<Command, { kind: 'freeze' | 'thaw' | 'kill' | 'release' | 'start' }>;

const DONE = { freeze: 'frozen', thaw: 'thawed', kill: 'killed', release: 'released', start: 'started under protection' } as const;

/** `ksapp freeze|thaw|kill|release|start NAME`: asks the daemon, which checks that the caller may. */
export async function controlCommand(cmd: ControlCommand): Promise<number> {
  const socketPath = socketPathFrom(cmd.socket);
  // Starting a config app needs a daemon, which root starts when none answers; the others act on a daemon's apps.
  const client = cmd.kind === 'start'
    ? await connectOrStart({ socketPath, configFile: cmd.config, tunnel: undefined, dns: [] })
    : await DaemonClient.connect(socketPath);
  try {
    await client.request({ op: cmd.kind, name: cmd.name });
    process.stdout.write(`${cmd.name}: ${DONE[cmd.kind]}\n`);
    return 0;
  } finally {
    client.close();
  }
}
