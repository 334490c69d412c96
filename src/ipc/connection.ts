import type net from 'node:net';
import { LineSplitter } from './lines.js';
import { isIdle, LINGER_MS, type ConnectionUse, type IpcLimits } from './limits.js';
import type { PeerCred } from './peercred.js';
import { MAX_REQUEST_BYTES, type Response, type StreamMessage } from './protocol.js';

/** An error line the server sends on its own (id 0: it answers no request). */
export function failure(id: number, code: string, message: string, hint: string, exitCode: 1 | 2 = 2): Response {
  return { id, ok: false, error: { code, message, hint, exitCode } };
}

/** Closes a socket after one last line, reading and dropping what the peer still sends until it closes or LINGER_MS pass. */
export function closeWith(socket: net.Socket, line: string): void {
  // Closing with unread input would reset the peer, which may then lose the line before it reads it.
  socket.resume();
  socket.end(line);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => clearTimeout(timer));
}

/**
 * One admitted client. Requests are answered at most `maxInFlight` at a time,
 * and none is started while answers wait for the client to read them; until
 * then the socket is paused, so a client that writes faster than it reads
 * waits in its own kernel buffer instead of the daemon's memory. A connection
 * that does nothing is closed after `idleTimeoutMs`; a subscriber whose unread
 * output passes `maxUnreadBytes` is dropped.
 */
export class Connection implements ConnectionUse {
  inFlight = 0;
  subscribed = false;
  tied = false;
  readonly since = Date.now();
  private readonly lines = new LineSplitter(MAX_REQUEST_BYTES);
  private readonly queue: string[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private awaitingDrain = false;
  /** Requests this connection may still start in the current turn of the event loop; refilled on the next. */
  private turnBudget: number;
  private refill: NodeJS.Immediate | undefined;
  private finishing = false;

  constructor(
    readonly socket: net.Socket, readonly peer: PeerCred, private readonly limits: IpcLimits,
    private readonly answer: (line: string, conn: Connection) => Promise<void>,
  ) {
    this.turnBudget = limits.maxInFlight;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('close', () => {
      clearTimeout(this.idleTimer);
      clearImmediate(this.refill);
      this.unsubscribe?.();
    });
    this.changed();
  }

  /** Writes the answer to a request (bounded by back-pressure: no request starts while answers are unread). */
  send(message: Response): void {
    if (!this.socket.destroyed && !this.finishing) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * Writes a subscription message. A status is skipped while earlier output
   * is still unread (a fresher one follows); a subscriber whose unread output
   * passes the bound anyway is disconnected.
   */
  stream(message: StreamMessage): void {
    if (this.socket.destroyed || this.finishing || (message.type === 'status' && this.socket.writableLength > 0)) return;
    this.socket.write(`${JSON.stringify(message)}\n`);
    if (this.socket.writableLength > this.limits.maxUnreadBytes) this.socket.destroy();
  }

  /** Sends one last line and closes. */
  finish(message: Response): void {
    if (this.socket.destroyed || this.finishing) return;
    this.finishing = true;
    this.queue.length = 0;
    // Output still queued means the peer is not reading: it would never see the line, and waiting for it would keep the descriptor.
    if (this.socket.writableLength > 0) this.socket.destroy();
    else closeWith(this.socket, `${JSON.stringify(message)}\n`);
  }

  /** Marks the connection as holding something of the handler's (an app) for its lifetime. */
  tie(): void {
    this.tied = true;
    this.changed();
  }

  /** Makes it a subscriber (exempt from the idle time-out; bound by its unread output instead); `unsubscribe` runs on close or on the next subscribe. */
  subscribe(unsubscribe: () => void): void {
    this.unsubscribe?.();
    this.unsubscribe = unsubscribe;
    this.subscribed = true;
    this.changed();
  }

  private receive(chunk: string): void {
    if (this.finishing) return;
    const got = this.lines.push(chunk);
    if (got === 'overflow') {
      this.finish(failure(0, 'REQUEST_TOO_LARGE', `request larger than ${MAX_REQUEST_BYTES} bytes`, 'send one JSON object per line'));
      return;
    }
    this.queue.push(...got);
    this.pump();
  }

  private pump(): void {
    if (this.finishing) return;
    while (this.inFlight < this.limits.maxInFlight && this.turnBudget > 0 && this.queue.length > 0 && !this.socket.destroyed && !this.socket.writableNeedDrain) {
      const line = this.queue.shift()!;
      this.inFlight++;
      this.turnBudget--;
      const done = (): void => {
        this.inFlight--;
        this.pump();
      };
      void this.answer(line, this).then(done, done);
    }
    // Answers from the status cache come back at once: without a budget per turn, one connection could fill the whole turn while others
    // (root's among them) wait; with it, every connection and every new one waiting to be accepted gets its turn.
    if (this.queue.length > 0 && this.turnBudget === 0 && !this.refill) {
      this.refill = setImmediate(() => {
        this.refill = undefined;
        this.turnBudget = this.limits.maxInFlight;
        this.pump();
      });
    }
    if (this.queue.length > 0 && this.socket.writableNeedDrain && !this.awaitingDrain) {
      this.awaitingDrain = true;
      this.socket.once('drain', () => {
        this.awaitingDrain = false;
        this.pump();
      });
    }
    if (this.queue.length > 0 || this.inFlight >= this.limits.maxInFlight) this.socket.pause();
    else if (!this.socket.destroyed) this.socket.resume();
    this.changed();
  }

  /** Arms the idle timer when the connection does nothing, disarms it otherwise. */
  private changed(): void {
    if (!isIdle(this) || this.socket.destroyed) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      return;
    }
    this.idleTimer ??= setTimeout(() => {
      this.idleTimer = undefined;
      if (isIdle(this)) {
        this.finish(failure(0, 'IDLE_TIMEOUT', `closed after ${this.limits.idleTimeoutMs} ms without a request`, 'connect when you have a request to send'));
      }
    }, this.limits.idleTimeoutMs);
  }
}
