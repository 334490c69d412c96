import { chmod, rm } from 'node:fs/promises';
import net from 'node:net';
import { KsappError } from '../errors.js';
import { closeWith, Connection, failure } from './connection.js';
import { ConnectionCounts, daemonLimits, DEFAULT_IPC_LIMITS, keepsDaemon, MAX_LINGERING, type IpcLimits, type Refusal } from './limits.js';
import { loadPeerCred, socketPeer, type PeerCred } from './peercred.js';
import type { Request, StreamMessage } from './protocol.js';
import { parseRequest, RequestError } from './validate.js';

/** One client connection: who it is, and a way to learn when it goes. */
export interface Session {
  readonly peer: PeerCred;
  /** Runs the callback when the connection closes; a connection something is tied to this way is never closed for being idle. */
  onClose(callback: () => void): void;
}

/** What the server asks of the daemon. */
export interface RequestHandler {
  /** Carries out one request for a peer the kernel vouched for; throws KsappError to refuse. */
  handle(request: Request, session: Session): Promise<unknown>;
  /** Streams status and events to a subscriber; returns the unsubscribe function. */
  subscribe(send: (message: StreamMessage) => void, options: { status: boolean }): () => void;
}

import { rootSocketOf } from './socket-path.js';

export { rootSocketOf };

/**
 * Serves newline-delimited JSON on a Unix socket, and on root's own socket
 * beside it; every peer is identified by SO_PEERCRED. Clients are bounded by
 * IpcLimits: connections of non-root users past a cap get one
 * TOO_MANY_CONNECTIONS line and are closed; root is never refused.
 */
export class IpcServer {
  /** The limits in force (the defaults, or KSAPP_IPC_LIMITS in the daemon's environment). */
  readonly limits: IpcLimits;
  private readonly server: net.Server;
  private readonly rootServer: net.Server;
  private readonly addon = loadPeerCred();
  private readonly open = new Set<Connection>();
  private readonly counts = new ConnectionCounts();
  private lingering = 0;

  constructor(private readonly socketPath: string, private readonly handler: RequestHandler, limits: Partial<IpcLimits> = daemonLimits()) {
    this.limits = { ...DEFAULT_IPC_LIMITS, ...limits };
    this.server = net.createServer((socket) => this.accept(socket));
    this.rootServer = net.createServer((socket) => this.accept(socket));
    // A failed accept (EMFILE, ENFILE) is an 'error' event of the server: unheard, it would end the daemon; the next accept may succeed.
    for (const server of [this.server, this.rootServer]) server.on('error', () => undefined);
  }

  /** Starts listening. Without the peer-credential addon only root may connect (mode 0600). */
  async listen(): Promise<void> {
    await listenOn(this.server, this.socketPath);
    await chmod(this.socketPath, this.addon ? 0o666 : 0o600);
    // Best effort: without it root shares the queue with everyone, as before. A stale one of a killed daemon is ours to replace (we hold the lock).
    const rootPath = rootSocketOf(this.socketPath);
    await rm(rootPath, { force: true });
    await listenOn(this.rootServer, rootPath).then(() => chmod(rootPath, 0o600), () => undefined);
  }

  /** Number of open client connections. */
  get connections(): number {
    return this.open.size;
  }

  /** Connections in use (a request in flight, a subscription, an app tied to them) or just opened; idle ones do not count. */
  get activeConnections(): number {
    const now = Date.now();
    let n = 0;
    for (const c of this.open) if (keepsDaemon(c, now)) n++;
    return n;
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    for (const c of this.open) c.socket.destroy();
    // Closing a listening socket also removes its file.
    await Promise.all([this.server, this.rootServer].map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    let peer: PeerCred;
    try {
      peer = this.addon ? socketPeer(this.addon, socket) : { pid: 0, uid: 0, gid: 0 };
    } catch {
      socket.destroy();
      return;
    }
    const refused = this.counts.admit(peer.uid, this.limits);
    if (refused) {
      this.refuse(socket, refused);
      return;
    }
    const conn = new Connection(socket, peer, this.limits, (line, c) => this.answer(line, c));
    this.open.add(conn);
    socket.on('close', () => {
      this.open.delete(conn);
      this.counts.release(peer.uid);
    });
  }

  /** One error line, then closed: after the peer read it when few refusals wait, at once in a flood. */
  private refuse(socket: net.Socket, refused: Refusal): void {
    const line = `${JSON.stringify(failure(0, refused.code, refused.message, refused.hint, 1))}\n`;
    if (this.lingering >= MAX_LINGERING) {
      socket.end(line, () => socket.destroy());
      return;
    }
    this.lingering++;
    socket.once('close', () => { this.lingering--; });
    closeWith(socket, line);
  }

  private async answer(line: string, conn: Connection): Promise<void> {
    let request: Request;
    try {
      request = parseRequest(line);
    } catch (error) {
      const e = error as RequestError;
      conn.send(failure(e.id, 'BAD_REQUEST', e.message, 'see src/ipc/protocol.ts for the request format'));
      return;
    }
    if (request.op === 'subscribe') {
      conn.send({ id: request.id, ok: true });
      conn.subscribe(this.handler.subscribe((m) => conn.stream(m), { status: request.status !== false }));
      return;
    }
    const session: Session = { peer: conn.peer, onClose: (callback) => { conn.tie(); conn.socket.once('close', callback); } };
    try {
      conn.send({ id: request.id, ok: true, result: await this.handler.handle(request, session) });
    } catch (error) {
      const e = error instanceof KsappError ? error : undefined;
      conn.send(failure(request.id, e?.code ?? 'INTERNAL', (error as Error).message, e?.hint ?? '', e?.exitCode ?? 1));
    }
  }
}

function listenOn(server: net.Server, socketPath: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: socketPath, readableAll: false, writableAll: false }, () => resolve());
  });
}
