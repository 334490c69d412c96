import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

/** Who is on the other end of a Unix socket, as the kernel recorded it. */
export interface PeerCred {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

type Addon = { peerCred(fd: number): PeerCred };

const CANDIDATES = ['../../../src/ipc/native/build/Release/peercred.node', './native/build/Release/peercred.node'];

/** Loads the SO_PEERCRED addon; undefined when it was not built (the daemon then admits root only). */
export function loadPeerCred(): Addon | undefined {
  const require = createRequire(import.meta.url);
  for (const candidate of CANDIDATES) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(file)) return require(file) as Addon;
  }
  return undefined;
}

/** The peer's credentials of a connected Unix socket. */
export function socketPeer(addon: Addon, socket: Socket): PeerCred {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor');
  return addon.peerCred(fd);
}
