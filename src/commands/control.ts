import type { Command } from '../cli/args.js';
import { DaemonClient } from '../ipc/client.js';
import { socketPathFrom } from '../ipc/socket-path.js';

type ControlCommand = Extract<Command, { kind: 'freeze' | 'thaw' | 'kill' | 'release' | 'start' }>;

const DONE = { freeze: 'frozen', thaw: 'thawed', kill: 'killed', release: 'released', start: 'started under protection' } as const;

/** `ksapp freeze|thaw|kill|release|start NAME`: asks the daemon, which checks that the caller may. */
export async function controlCommand(cmd: ControlCommand): Promise<number> {
  const client = await DaemonClient.connect(socketPathFrom(cmd.socket));
  try {
    await client.request({ op: cmd.kind, name: cmd.name });
    process.stdout.write(`${cmd.name}: ${DONE[cmd.kind]}\n`);
    return 0;
  } finally {
    client.close();
  }
}
