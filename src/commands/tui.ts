import type { Command } from '../cli/args.js';
import { socketPathFrom } from '../ipc/socket-path.js';

type TuiCommand = Extract<Command, { kind: 'tui' }>;

/** `ksapp tui [--once]`: the live dashboard, or one frame for scripts (exit 1 when the daemon is not running). */
export async function tuiCommand(cmd: TuiCommand): Promise<number> {
  const { captureOnce, runDashboard } = await import('../../tui/index.js');
  const { daemonSource } = await import('../../tui/daemon-source.js');
  const socketPath = socketPathFrom(cmd.socket);
  const source = daemonSource(socketPath);
  if (cmd.once) {
    const color = Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined;
    const { frame, connected } = await captureOnce(source, {
      columns: process.stdout.columns ?? 100, rows: process.stdout.isTTY ? process.stdout.rows ?? 24 : 10_000, color, socketHint: socketPath,
    });
    process.stdout.write(`${frame}\n`);
    return connected ? 0 : 1;
  }
  await runDashboard({ source, socketHint: socketPath });
  return 0;
}
