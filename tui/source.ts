/**
 * The dashboard's only door to the daemon. The real one wraps the Unix socket's
 * `subscribe` stream; tests pass a fake they drive by hand.
 */
import type { Response, StreamMessage } from '../src/ipc/protocol.js';

/** The operations the dashboard can ask the daemon to perform on an app. */
export type AppOp = 'freeze' | 'thaw' | 'kill' | 'release';

/** What the dashboard needs from the daemon (the real one wraps the Unix socket; tests pass a fake). */
export interface DashboardSource {
  /** Calls onMessage with a full status first, then events and new statuses; onConnection(false, reason) when the daemon is lost, (true) when (re)connected. Returns unsubscribe. */
  subscribe(
    onMessage: (m: StreamMessage) => void,
    onConnection: (connected: boolean, reason?: string) => void,
  ): () => void;
  /** Asks the daemon to act on an app; resolves to its Response (ok false carries error.message and error.hint). */
  act(op: AppOp, name: string): Promise<Response>;
}
