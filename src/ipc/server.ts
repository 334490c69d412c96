import { chmod } from 'node:fs/promises';
import net from 'node:net';
import { KsappError } from '../errors.js';
import { LineSplitter } from './lines.js';
import { loadPeerCred, socketPeer, type PeerCred } from './peercred.js';
import { MAX_REQUEST_BYTES, type Request, type Response, type StreamMessage } from './protocol.js';
import { parseRequest, RequestError } from './validate.js';

/** One client connection: who it is, and a way to learn when it goes. */
export interface Session {
  readonly peer: PeerCred;
  /** Runs the callback when the connection closes. */
  onClose(callback: () => void): void;
}

/** What the server asks of the daemon. */
export interface RequestHandler {
  /** Carries out one request for a peer the kernel vouched for; throws KsappError to refuse. */
  handle(request: Request, session: Session): Promise<unknown>;
  /** Streams status and events to a subscriber; returns the unsubscribe function. */
  subscribe(send: (message: StreamMessage) => void, options: { status: boolean }): () => void;
}

/** Serves newline-delimited JSON on a Unix socket; every peer is identified by SO_PEERCRED. */
export class IpcServer {
  private readonly server: net.Server;
  private readonly addon = loadPeerCred();
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly socketPath: string, private readonly handler: RequestHandler) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Starts listening. Without the peer-credential addon only root may connect (mode 0600). */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => resolve());
    });
    await chmod(this.socketPath, this.addon ? 0o666 : 0o600);
  }

  /** Number of open client connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    let peer: PeerCred;
    try {
      peer = this.addon ? socketPeer(this.addon, socket) : { pid: 0, uid: 0, gid: 0 };
    } catch {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const session: Session = { peer, onClose: (callback) => socket.once('close', callback) };
    const lines = new LineSplitter(MAX_REQUEST_BYTES);
    let unsubscribe: (() => void) | undefined;
    const send = (message: Response | StreamMessage): void => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const got = lines.push(chunk);
      if (got === 'overflow') {
        send(failure(0, 'REQUEST_TOO_LARGE', `request larger than ${MAX_REQUEST_BYTES} bytes`, 'send one JSON object per line'));
        socket.end();
        return;
      }
      for (const line of got) void this.answer(line, session, send, (u) => { unsubscribe?.(); unsubscribe = u; });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      unsubscribe?.();
      this.sockets.delete(socket);
    });
  }

  private async answer(line: string, session: Session, send: (m: Response | StreamMessage) => void, setSub: (u: () => void) => void): Promise<void> {
    let request: Request;
    try {
      request = parseRequest(line);
    } catch (error) {
      const e = error as RequestError;
      send(failure(e.id, 'BAD_REQUEST', e.message, 'see src/ipc/protocol.ts for the request format'));
      return;
    }
    if (request.op === 'subscribe') {
      send({ id: request.id, ok: true });
      setSub(this.handler.subscribe((m) => send(m), { status: request.status !== false }));
      return;
    }
    try {
      send({ id: request.id, ok: true, result: await this.handler.handle(request, session) });
    } catch (error) {
      const e = error instanceof KsappError ? error : undefined;
      send(failure(request.id, e?.code ?? 'INTERNAL', (error as Error).message, e?.hint ?? '', e?.exitCode ?? 1));
    }
  }
}

function failure(id: number, code: string, message: string, hint: string, exitCode: 1 | 2 = 2): Response {
  return { id, ok: false, error: { code, message, hint, exitCode } };
}
