// The agent's line to the daemon: subscribe, then ask for the status on the same connection (no gap
// between the two), and connect again when the daemon goes away (it restarts; the agent may also
// start at login before it). Who serves the socket is checked by DaemonClient: only root's daemon.
import { DaemonClient } from '../ipc/client.js';
import type { IpcError } from '../ipc/errors.js';
import type { AppStatus, EventRecord, Status } from '../ipc/protocol.js';

/** What the link reports. */
export interface LinkHandlers {
  /** Connected (at first, or again), with the apps the daemon has now. */
  onUp(apps: readonly AppStatus[]): void;
  /** One event of the daemon, in order. */
  onEvent(e: EventRecord): void;
  /** Contact lost after it was up; the link keeps trying. */
  onDown(why: string): void;
  /** A failure trying again cannot mend (a socket served by someone else than root, no access). */
  onFatal(error: IpcError): void;
}

/** Refusals that no retry mends. */
const FATAL = new Set(['DAEMON_NOT_ROOT', 'DAEMON_NO_ACCESS']);
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/** A subscription to the daemon that keeps itself up. */
export class DaemonLink {
  private client: DaemonClient | undefined;
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private told = false;

  constructor(private readonly socketPath: string, private readonly on: LinkHandlers, private readonly log: (line: string) => void) {}

  /** Starts connecting. */
  start(): void {
    void this.connect();
  }

  /** The daemon's apps now. */
  async apps(): Promise<readonly AppStatus[]> {
    if (!this.client) throw new Error('not connected to the daemon');
    return (await this.client.request<Status>({ op: 'status' })).apps;
  }

  /** Asks the daemon to thaw `name`; rejects with its refusal. */
  async thaw(name: string): Promise<void> {
    if (!this.client) throw new Error('not connected to the daemon');
    await this.client.request({ op: 'thaw', name });
  }

  /** Closes the connection and stops trying. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client?.close();
  }

  private async connect(): Promise<void> {
    let client: DaemonClient | undefined;
    try {
      client = await DaemonClient.connect(this.socketPath);
      await client.subscribe((m) => { if (m.type === 'event') this.on.onEvent(m.event); }, { status: false });
    } catch (error) {
      client?.close();
      const e = error as IpcError;
      if (FATAL.has(e.code)) return this.on.onFatal(e);
      if (!this.told) this.log(`no daemon yet (${e.message}); trying again every few seconds`);
      this.told = true;
      return this.again();
    }
    if (this.stopped) return client!.close();
    this.client = client;
    client.onClose(() => this.lost());
    this.retryMs = FIRST_RETRY_MS;
    this.told = false;
    this.log(`connected to the daemon at ${this.socketPath}`);
    this.on.onUp(await this.apps().catch(() => []));
  }

  private lost(): void {
    this.client = undefined;
    if (this.stopped) return;
    this.log('lost contact with the daemon; trying again');
    this.on.onDown('the daemon closed the connection');
    this.again();
  }

  private again(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
