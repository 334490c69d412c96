import { existsSync, lstatSync } from 'node:fs';
import net from 'node:net';
import { IpcError } from './errors.js';
import { LineSplitter } from './lines.js';
import { loadPeerCred, socketPeer } from './peercred.js';
import { rootSocketOf } from './socket-path.js';
import type { Request, Response, StreamMessage } from './protocol.js';

/**
 * Whoever listens on the socket is trusted with where our app runs (its
 * cgroup) and with our requests: only root's daemon qualifies, as the kernel
 * vouches (SO_PEERCRED of the listener). Without the addon, the socket file's
 * owner is the next best witness.
 */
function notRootsDaemon(socket: net.Socket, socketPath: string): IpcError | undefined {
  let uid: number;
  try {
    const addon = loadPeerCred();
    uid = addon ? socketPeer(addon, socket).uid : lstatSync(socketPath).uid;
  } catch (cause) {
    return new IpcError(`cannot tell who serves ${socketPath}`, { code: 'DAEMON_NOT_ROOT', cause, hint: 'check the socket path; the daemon runs as root' });
  }
  if (uid === 0) return undefined;
  return new IpcError(`${socketPath} is served by uid ${uid}, not by root: not a ksapp daemon to trust`, {
    code: 'DAEMON_NOT_ROOT', exitCode: 2, hint: 'someone else may have taken that socket path; use the default /run/ksapp/ksapp.sock, or a --socket in a directory only root can write',
  });
}

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

  /**
   * Connects; DAEMON_NOT_RUNNING when nothing answers, DAEMON_NOT_ROOT when
   * what answers is not root's. Root goes through its own socket beside the
   * shared one when it is there, so a user flooding the shared one cannot
   * lock root out.
   */
  static async connect(socketPath: string): Promise<DaemonClient> {
    const own = rootSocketOf(socketPath);
    if (process.geteuid?.() === 0 && existsSync(own)) {
      const client = await DaemonClient.connectTo(own, socketPath).catch(() => undefined);
      if (client) return client;
    }
    return DaemonClient.connectTo(socketPath, socketPath);
  }

  private static connectTo(path: string, socketPath: string): Promise<DaemonClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => {
        const impostor = notRootsDaemon(socket, path);
        if (impostor) {
          socket.destroy();
          reject(impostor);
          return;
        }
        resolve(new DaemonClient(socket, socketPath));
      });
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
      // A refusal of the whole connection (too many connections, idle, a line too long) answers no request: every one waiting gets it.
      if (message.id === 0 && !message.ok) {
        const refusal = new IpcError(message.error.message, { code: message.error.code, hint: message.error.hint, exitCode: message.error.exitCode ?? 1 });
        for (const p of this.pending.values()) p.reject(refusal);
        this.pending.clear();
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
