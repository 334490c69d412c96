import { lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { IpcError } from './errors.js';

/** Where the daemon listens unless --socket or KSAPP_SOCKET say otherwise. */
export const DEFAULT_SOCKET = '/run/ksapp/ksapp.sock';

/** The socket path to use, from the option, the environment or the default. */
export function socketPathFrom(option: string | undefined): string {
  return path.resolve(option ?? process.env.KSAPP_SOCKET ?? DEFAULT_SOCKET);
}

/**
 * Root's own socket beside the shared one (mode 0600). A user who keeps
 * hundreds of connection attempts going fills the shared socket's accept
 * queue in the kernel, where connecting fails (EAGAIN) before the daemon can
 * tell who asks; this queue only root can reach.
 */
export function rootSocketOf(socketPath: string): string {
  return `${socketPath}.root`;
}

/** Connects once; resolves true when something answers, false on refusal or absence. */
export function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Makes the path ready to listen on: a live daemon there is refused (never two
 * on one socket), a stale socket of a dead daemon is replaced, and anything that
 * is not a socket is left alone with an error.
 */
export async function prepareSocketPath(socketPath: string, livePid: () => Promise<number | undefined>): Promise<void> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  const stat = await lstat(socketPath).catch(() => undefined);
  if (!stat) return;
  if (!stat.isSocket()) {
    throw new IpcError(`${socketPath} exists but is not a socket`, {
      code: 'SOCKET_NOT_SOCKET', exitCode: 2, hint: 'choose another --socket path, or remove that file if it is yours to remove',
    });
  }
  if (await answers(socketPath)) {
    const pid = await livePid().catch(() => undefined);
    throw new IpcError(`a ksapp daemon${pid ? ` (pid ${pid})` : ''} is already serving ${socketPath}`, {
      code: 'DAEMON_RUNNING', exitCode: 1, hint: 'use that one (ksapp status), or stop it first; a second daemon needs its own --socket',
    });
  }
  await unlink(socketPath); // stale: its daemon is gone
}
