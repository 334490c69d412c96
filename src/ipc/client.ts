import net from 'node:net';
import { IpcError } from './errors.js';
import { LineSplitter } from './lines.js';
import type { Request, Response, StreamMessage } from './protocol.js';

type Pending = { resolve: (r: Response) => void; reject: (e: Error) => void };
/** A request without its id; the client numbers them. */
export type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** A connection to the daemon: numbered requests, plus an optional event stream. */
export class DaemonClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly lines = new LineSplitter(16 * 1024 * 1024);
  private onStream: ((m: StreamMessage) => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: net.Socket, readonly socketPath: string) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('close', () => this.fail(new IpcError('the daemon closed the connection', { code: 'DAEMON_GONE', hint: 'is it still running? try `ksapp status`' })));
    socket.on('error', () => undefined);
  }

  /** Connects; DAEMON_NOT_RUNNING when nothing answers. */
  static connect(socketPath: string): Promise<DaemonClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      socket.once('connect', () => resolve(new DaemonClient(socket, socketPath)));
      socket.once('error', (cause: NodeJS.ErrnoException) => reject(cause.code === 'EACCES'
        ? new IpcError(`permission denied on ${socketPath}`, { code: 'DAEMON_NO_ACCESS', cause, hint: 'the socket or a directory above it is not open to you; ask root, or use sudo' })
        : new IpcError(`no ksapp daemon is answering on ${socketPath}`, {
          code: 'DAEMON_NOT_RUNNING', cause, hint: 'start it with `sudo ksapp daemon` (or `ksapp run` starts one)',
        })));
    });
  }

  /** Sends a request and resolves with its result; a refusal becomes an IpcError carrying the daemon's code and hint. */
  async request<T = unknown>(body: RequestBody): Promise<T> {
    const response = await this.raw(body);
    if (response.ok) return response.result as T;
    throw new IpcError(response.error.message, { code: response.error.code, hint: response.error.hint, exitCode: response.error.exitCode ?? 1 });
  }

  /** Sends a request and resolves with the daemon's raw response. */
  raw(body: RequestBody): Promise<Response> {
    if (this.closed) return Promise.reject(new IpcError('connection to the daemon is closed', { code: 'DAEMON_GONE' }));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  /** Turns this connection into a stream of events and, unless `status` is false, status snapshots. */
  async subscribe(onMessage: (m: StreamMessage) => void, options: { status?: boolean } = {}): Promise<void> {
    this.onStream = onMessage;
    await this.request(options.status === false ? { op: 'subscribe', status: false } : { op: 'subscribe' });
  }

  /** Calls back once when the connection ends. */
  onClose(listener: () => void): void {
    this.socket.once('close', listener);
  }

  /** Closes the connection. */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    const lines = this.lines.push(chunk);
    if (lines === 'overflow') return this.close();
    for (const line of lines) {
      const message = JSON.parse(line) as Response | StreamMessage;
      if ('type' in message) {
        this.onStream?.(message);
        continue;
      }
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      pending?.resolve(message);
    }
  }

  private fail(error: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
