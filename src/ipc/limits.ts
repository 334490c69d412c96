/**
 * What one client may take of the daemon (pure). Every user on the machine may
 * talk to the socket, so without bounds one of them could starve the kill
 * switch itself: too many `nft` runs at once, every file descriptor, memory
 * for output nobody reads, or a daemon that never leaves.
 */
import { IpcError } from './errors.js';

/** The daemon's bounds on its clients. Root's connections are never refused; the other bounds hold for everyone. */
export interface IpcLimits {
  /** Requests of one connection being answered at once; past it the server stops reading that connection (back-pressure, nothing dropped). */
  readonly maxInFlight: number;
  /** Open connections of one non-root user; a `ksapp run` holds one for as long as its app runs, so this stays above `maxAppsPerUser`. */
  readonly maxConnectionsPerUser: number;
  /** Open connections of all non-root users together. */
  readonly maxConnections: number;
  /** A connection with no request in flight, no subscription and no app tied to it is closed after this long, ms. */
  readonly idleTimeoutMs: number;
  /** A client whose unread output passes this many bytes is disconnected (a subscriber that never reads). */
  readonly maxUnreadBytes: number;
  /** Apps one non-root user may have under protection at once. */
  readonly maxAppsPerUser: number;
}

/** The limits a daemon has unless told otherwise. */
export const DEFAULT_IPC_LIMITS: IpcLimits = Object.freeze({
  maxInFlight: 4,
  maxConnectionsPerUser: 96,
  maxConnections: 512,
  idleTimeoutMs: 30_000,
  maxUnreadBytes: 1024 * 1024,
  maxAppsPerUser: 64,
});

/** Environment variable read by the daemon process only: a JSON object overriding some of DEFAULT_IPC_LIMITS (tests, benchmarks). */
export const LIMITS_ENV = 'KSAPP_IPC_LIMITS';

/** How long a new connection counts as active before its first request, ms, so a daemon that leaves when idle never leaves under a client about to ask. */
export const CONNECT_GRACE_MS = 2000;

/** How long a connection being closed with a last line (a refusal, a time-out) may wait for its peer to read it, ms. */
export const LINGER_MS = 1000;

/** Refused connections allowed to wait for their peer at once; past it a refusal closes at once (a connection flood holds no descriptors). */
export const MAX_LINGERING = 64;

/** Parses the JSON of LIMITS_ENV into limits over the defaults; throws IpcError BAD_LIMITS (pure). */
export function parseIpcLimits(text: string | undefined, base: IpcLimits = DEFAULT_IPC_LIMITS): IpcLimits {
  if (text === undefined || text.trim() === '') return base;
  const bad = (why: string): IpcError => new IpcError(`${LIMITS_ENV}: ${why}`, {
    code: 'BAD_LIMITS', exitCode: 2, hint: `give a JSON object with some of ${Object.keys(base).join(', ')}, each a whole number ≥ 1; or unset it`,
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('not a JSON object');
  const out: Record<string, number> = { ...base };
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in base)) throw bad(`unknown limit "${key}"`);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw bad(`${key} must be a whole number ≥ 1`);
    out[key] = value;
  }
  return out as unknown as IpcLimits;
}

/** The limits of this daemon process: the defaults, or KSAPP_IPC_LIMITS over them; throws IpcError BAD_LIMITS. */
export function daemonLimits(text: string | undefined = process.env[LIMITS_ENV]): IpcLimits {
  return parseIpcLimits(text);
}

/** Why a connection is refused: the line the client gets before it is closed. */
export interface Refusal {
  readonly code: 'TOO_MANY_CONNECTIONS';
  readonly message: string;
  readonly hint: string;
}

/** Open connections per uid; decides whether one more may stay (no I/O). */
export class ConnectionCounts {
  private readonly byUid = new Map<number, number>();
  private nonRoot = 0;

  /** Counts a new connection of `uid`, or returns why it may not stay (and counts nothing). Root is never refused. */
  admit(uid: number, limits: IpcLimits): Refusal | undefined {
    if (uid !== 0) {
      const mine = this.byUid.get(uid) ?? 0;
      if (mine >= limits.maxConnectionsPerUser) {
        return refusal(`uid ${uid} already has ${mine} connections open to the daemon (the limit per user is ${limits.maxConnectionsPerUser})`);
      }
      if (this.nonRoot >= limits.maxConnections) {
        return refusal(`users other than root already hold ${this.nonRoot} connections to the daemon (the limit is ${limits.maxConnections})`);
      }
      this.nonRoot++;
    }
    this.byUid.set(uid, (this.byUid.get(uid) ?? 0) + 1);
    return undefined;
  }

  /** Forgets one connection of `uid` that admit() counted. */
  release(uid: number): void {
    const left = (this.byUid.get(uid) ?? 0) - 1;
    if (left > 0) this.byUid.set(uid, left);
    else this.byUid.delete(uid);
    if (uid !== 0) this.nonRoot = Math.max(0, this.nonRoot - 1);
  }

  /** Open connections of `uid`. */
  of(uid: number): number {
    return this.byUid.get(uid) ?? 0;
  }
}

function refusal(message: string): Refusal {
  return { code: 'TOO_MANY_CONNECTIONS', message, hint: 'close some connections (other `ksapp tui` or `ksapp run` sessions) and try again; root is never refused (sudo ksapp …)' };
}

/** What the server knows of one connection's use. */
export interface ConnectionUse {
  readonly inFlight: number;
  readonly subscribed: boolean;
  /** The handler tied something (an app) to the connection's lifetime. */
  readonly tied: boolean;
  /** When it connected, epoch ms. */
  readonly since: number;
}

/**
 * Whether a connection does nothing: nothing in flight, no subscription,
 * nothing tied to it. Requests held back because the client does not read its
 * answers do not count: such a client neither asks nor listens.
 */
export function isIdle(c: ConnectionUse): boolean {
  return c.inFlight === 0 && !c.subscribed && !c.tied;
}

/** Whether a connection keeps a daemon that leaves when idle: in use, or connected so recently that its first request may be on its way. */
export function keepsDaemon(c: ConnectionUse, now: number): boolean {
  return !isIdle(c) || now - c.since < CONNECT_GRACE_MS;
}
