// What the dashboard knows about the daemon: the newest status, the event log,
// live rates and the connection. A pure reducer over the subscription stream.
import type { EventRecord, Status, StreamMessage } from '../src/ipc/protocol.js';
import { computeRates, type AppRates, type Sample } from './rates.js';

/** Events kept for the log (the screen shows the newest few). */
export const MAX_EVENTS = 200;
/** Rates are measured over at least this long, so bursts of statuses do not make them jitter. */
export const RATE_WINDOW_MS = 750;

/** The link to the daemon: not yet known, up, or lost (and being retried by the source). */
export interface Connection {
  readonly state: 'connecting' | 'connected' | 'lost';
  readonly reason?: string;
  /** When it entered this state (ms since the epoch). */
  readonly since: number;
}

/** Everything the dashboard draws that comes from the daemon. */
export interface Model {
  readonly status: Status | null;
  /** When `status` arrived. */
  readonly statusAt: number | null;
  readonly events: readonly EventRecord[];
  readonly rates: ReadonlyMap<string, AppRates>;
  /** The sample the next rates are measured from. */
  readonly baseline: Sample | null;
  readonly connection: Connection;
}

/** Inputs of the reducer: a stream message or a connection change, stamped with the time it arrived. */
export type ModelAction =
  | { readonly kind: 'message'; readonly message: StreamMessage; readonly at: number }
  | { readonly kind: 'connection'; readonly connected: boolean; readonly reason?: string; readonly at: number };

/** The model before the daemon has said anything. */
export function initialModel(at: number): Model {
  return { status: null, statusAt: null, events: [], rates: new Map(), baseline: null, connection: { state: 'connecting', since: at } };
}

function sameEvent(a: EventRecord | undefined, b: EventRecord): boolean {
  return a !== undefined && a.at === b.at && a.type === b.type && a.app === b.app && a.detail === b.detail;
}

function onStatus(m: Model, status: Status, at: number): Model {
  const sample = { status, at };
  const base = m.baseline;
  const fresh = base === null || at - base.at >= RATE_WINDOW_MS;
  return {
    ...m,
    status,
    statusAt: at,
    // The daemon's own bounded log is authoritative; streamed events fill the gaps between statuses.
    events: status.events.slice(-MAX_EVENTS),
    rates: base !== null && fresh ? computeRates(base, sample) : m.rates,
    baseline: fresh ? sample : base,
    connection: m.connection.state === 'connected' ? m.connection : { state: 'connected', since: at },
  };
}

/** The model after one action. */
export function reduceModel(m: Model, a: ModelAction): Model {
  if (a.kind === 'connection') {
    const state = a.connected ? 'connected' : 'lost';
    if (m.connection.state === state && m.connection.reason === a.reason) return m;
    const since = state === m.connection.state ? m.connection.since : a.at;
    const connection: Connection = { state, reason: a.reason, since };
    // Rates across a gap would average over the outage; measure afresh after it.
    return a.connected ? { ...m, connection } : { ...m, connection, baseline: null, rates: new Map() };
  }
  if (a.message.type === 'status') return onStatus(m, a.message.status, a.at);
  const event = a.message.event;
  if (sameEvent(m.events.at(-1), event)) return m;
  return { ...m, events: [...m.events, event].slice(-MAX_EVENTS) };
}

/** The model after a batch of actions, in order. */
export function reduceAll(m: Model, actions: readonly ModelAction[]): Model {
  return actions.reduce(reduceModel, m);
}
