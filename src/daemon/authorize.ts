import { KsappError } from '../errors.js';
import type { PeerCred } from '../ipc/peercred.js';
import type { Request } from '../ipc/protocol.js';

/** A request the asking user has no authority for. */
export class AuthError extends KsappError {}

/**
 * Decides whether a peer may make a request (pure). Root may do anything.
 * Anyone may look and may put their own programs under protection. Acting on
 * an app needs to be its owner; freezing only tightens, but it stops someone
 * else's program, so it too is the owner's.
 */
export function authorize(request: Request, peer: PeerCred, owner: number | undefined): void {
  if (peer.uid === 0) return;
  switch (request.op) {
    case 'status':
    case 'subscribe':
      return;
    case 'register':
    case 'protect':
      return; // protecting is always allowed; the handler makes the peer the owner and checks processes are theirs
    default:
      if (owner === undefined) return; // the handler answers "no such app"
      if (owner !== peer.uid) {
        throw new AuthError(`${request.op} ${request.name}: the app belongs to uid ${owner}, you are uid ${peer.uid}`, {
          code: 'NOT_AUTHORIZED', hint: 'only its owner or root may do that (sudo ksapp …)',
        });
      }
  }
}
