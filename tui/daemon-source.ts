import { DaemonClient } from '../src/ipc/client.js';
import type { Response } from '../src/ipc/protocol.js';
import type { AppOp, DashboardSource } from './source.js';

/**
 * The dashboard's view of the real daemon: one subscribed connection, re-made
 * with backoff whenever it is lost, and a short-lived connection per action.
 */
export function daemonSource(socketPath: string): DashboardSource {
  return {
    subscribe(onMessage, onConnection) {
      let stopped = false;
      let client: DaemonClient | undefined;
      let timer: NodeJS.Timeout | undefined;
      let backoff = 200;
      const connect = async (): Promise<void> => {
        try {
          client = await DaemonClient.connect(socketPath);
          client.onClose(() => lost('daemon connection closed'));
          await client.subscribe(onMessage);
          backoff = 200;
          onConnection(true);
        } catch (error) {
          lost((error as Error).message);
        }
      };
      const lost = (reason: string): void => {
        if (stopped) return;
        client?.close();
        client = undefined;
        onConnection(false, reason);
        clearTimeout(timer);
        timer = setTimeout(() => void connect(), backoff);
        backoff = Math.min(backoff * 2, 3000);
      };
      void connect();
      return () => {
        stopped = true;
        clearTimeout(timer);
        client?.close();
      };
    },
    async act(op: AppOp, name: string): Promise<Response> {
      const client = await DaemonClient.connect(socketPath).catch((error: Error) => error);
      if (client instanceof Error) return { id: 0, ok: false, error: { code: 'DAEMON_NOT_RUNNING', message: client.message, hint: 'start it with `sudo ksapp daemon`' } };
      try {
        return await client.raw({ op, name });
      } finally {
        client.close();
      }
    },
  };
}
