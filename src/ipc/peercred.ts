import type { Socket } from 'node:net';
import { loadAddon } from '../native/load.js';

/** Who is on the other end of a Unix socket, as the kernel recorded it. */
export interface PeerCred {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

type Addon = { peerCred(fd: number): PeerCred };

/** Loads the SO_PEERCRED addon; undefined when it was not built (the daemon then admits root only). */
export function loadPeerCred(): Addon | undefined {
  return loadAddon<Addon>('peercred');
}

/** The peer's credentials of a connected Unix socket. */
export function socketPeer(addon: Addon, socket: Socket): PeerCred {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor');
  return addon.peerCred(fd);
}
