// Literal daemon statuses and a fake DashboardSource the tests drive by hand.
import type { AppStatus, EventRecord, Response, Status, StreamMessage } from '../src/ipc/protocol.js';
import type { AppOp, DashboardSource } from '../tui/source.js';

/** A fixed clock for frames: 2025-01-02 12:00:00 local time. */
export const NOW = new Date(2025, 0, 2, 12, 0, 0).getTime();

/** An ISO time `secondsAgo` before NOW. */
export const ago = (secondsAgo: number): string => new Date(NOW - secondsAgo * 1000).toISOString();

/** One app, running, with overridable fields. */
export function app(name: string, over: Partial<AppStatus> = {}): AppStatus {
  return {
    name, state: 'running', policy: 'freeze', pids: [1000, 1001], cgroup: `/sys/fs/cgroup/ksapp/${name}`,
    packets: { tunnel: 1234, dropped: 0 }, bytes: { tunnel: 5_600_000 }, uid: 1000, user: 'alice',
    allowLan: false, restart: false, origin: 'run', since: ago(300), ...over,
  };
}

/** A status with the tunnel up and the given apps and events. */
export function status(apps: readonly AppStatus[], over: Partial<Status> = {}): Status {
  return {
    tunnel: { interface: 'wg0', state: 'up', since: ago(312), reason: 'all sources healthy', handshakeAgeMs: 12_000, probeRttMs: 3.2, lastReactionMs: 4 },
    apps, daemon: { pid: 4242, startedAt: ago(3600), socket: '/run/ksapp/ksapp.sock' },
    config: { file: '/etc/ksapp/config.yaml', error: null }, events: [], ...over,
  };
}

/** An event `secondsAgo` before NOW. */
export function event(type: string, secondsAgo: number, over: Partial<EventRecord> = {}): EventRecord {
  return { at: ago(secondsAgo), type, ...over };
}

/** A DashboardSource whose stream and answers the test controls. */
export class FakeSource implements DashboardSource {
  onMessage: ((m: StreamMessage) => void) | null = null;
  onConnection: ((connected: boolean, reason?: string) => void) | null = null;
  readonly calls: { op: AppOp; name: string }[] = [];
  unsubscribed = 0;
  /** What act() answers; a function lets a test decide per call. */
  answer: (op: AppOp, name: string) => Promise<Response> = async () => ({ id: 1, ok: true });

  subscribe(onMessage: (m: StreamMessage) => void, onConnection: (connected: boolean, reason?: string) => void): () => void {
    this.onMessage = onMessage;
    this.onConnection = onConnection;
    return () => {
      this.unsubscribed++;
      this.onMessage = null;
      this.onConnection = null;
    };
  }

  act(op: AppOp, name: string): Promise<Response> {
    this.calls.push({ op, name });
    return this.answer(op, name);
  }

  /** Sends a full status down the stream. */
  sendStatus(s: Status): void {
    this.onMessage?.({ type: 'status', status: s });
  }

  /** Sends one event down the stream. */
  sendEvent(e: EventRecord): void {
    this.onMessage?.({ type: 'event', event: e });
  }

  /** Reports the connection lost or back. */
  connection(connected: boolean, reason?: string): void {
    this.onConnection?.(connected, reason);
  }
}
