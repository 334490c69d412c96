// The bounds on daemon clients: pure logic on literal inputs, then the server with a fake handler
// on a socket in a temporary directory (the test runs as root, so the per-user caps are in the
// end-to-end test; back-pressure, the idle time-out and the unread bound hold for root too).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { StatusCache } from '../src/daemon/status-cache.js';
import { appsOwnedBy, checkAppQuota, QuotaError, withinAppQuota } from '../src/daemon/quota.js';
import { waitUntil } from '../src/demo/wait.js';
import { CONNECT_GRACE_MS, ConnectionCounts, DEFAULT_IPC_LIMITS, isIdle, keepsDaemon, parseIpcLimits, type IpcLimits } from '../src/ipc/limits.js';
import type { Request, StreamMessage } from '../src/ipc/protocol.js';
import { IpcServer, type RequestHandler, type Session } from '../src/ipc/server.js';

const limits = (o: Partial<IpcLimits>): IpcLimits => ({ ...DEFAULT_IPC_LIMITS, ...o });

test('KSAPP_IPC_LIMITS: a JSON object of known whole numbers over the defaults; anything else is refused with a hint', () => {
  assert.deepEqual(parseIpcLimits(undefined), DEFAULT_IPC_LIMITS);
  assert.deepEqual(parseIpcLimits(''), DEFAULT_IPC_LIMITS);
  assert.deepEqual(parseIpcLimits('{"maxInFlight":2,"idleTimeoutMs":500}'), { ...DEFAULT_IPC_LIMITS, maxInFlight: 2, idleTimeoutMs: 500 });
  for (const [text, why] of [['nope', /not valid JSON/], ['[1]', /not a JSON object/], ['{"maxSockets":1}', /unknown limit "maxSockets"/],
    ['{"maxInFlight":0}', /whole number ≥ 1/], ['{"maxInFlight":1.5}', /whole number/], ['{"maxInFlight":"4"}', /whole number/]] as const) {
    assert.throws(() => parseIpcLimits(text), (e: Error & { code?: string; hint?: string }) => why.test(e.message) && e.code === 'BAD_LIMITS' && /JSON object/.test(e.hint ?? ''), text);
  }
  // A `ksapp run` holds a connection per app: the per-user connection cap must leave room for a full quota of apps.
  assert.ok(DEFAULT_IPC_LIMITS.maxConnectionsPerUser > DEFAULT_IPC_LIMITS.maxAppsPerUser);
});

test('connections: a user past their cap, or all users past the global cap, are refused; root never; release frees a place', () => {
  const c = new ConnectionCounts();
  const l = limits({ maxConnectionsPerUser: 2, maxConnections: 3 });
  assert.equal(c.admit(1000, l), undefined);
  assert.equal(c.admit(1000, l), undefined);
  const over = c.admit(1000, l);
  assert.equal(over?.code, 'TOO_MANY_CONNECTIONS');
  assert.match(over!.message, /uid 1000 already has 2 connections .*limit per user is 2/);
  assert.match(over!.hint, /root is never refused/);
  assert.equal(c.admit(1001, l), undefined);
  assert.match(c.admit(1002, l)?.message ?? '', /other than root already hold 3 connections .*limit is 3/);
  for (let i = 0; i < 10; i++) assert.equal(c.admit(0, l), undefined, 'root is never refused');
  assert.equal(c.of(0), 10);
  c.release(1000);
  assert.equal(c.admit(1002, l), undefined, 'a released place is free again');
  assert.equal(c.of(1000), 1);
});

test('idle: nothing in flight, no subscription, nothing tied; a fresh connection keeps the daemon for the grace only', () => {
  const base = { inFlight: 0, subscribed: false, tied: false, since: 1000 };
  assert.equal(isIdle(base), true);
  assert.equal(isIdle({ ...base, inFlight: 1 }), false);
  assert.equal(isIdle({ ...base, subscribed: true }), false);
  assert.equal(isIdle({ ...base, tied: true }), false);
  assert.equal(keepsDaemon(base, 1000 + CONNECT_GRACE_MS - 1), true);
  assert.equal(keepsDaemon(base, 1000 + CONNECT_GRACE_MS), false);
  assert.equal(keepsDaemon({ ...base, tied: true }, 1e12), true);
});

test('app quota: a user at the limit is refused with a hint, root never; concurrent additions count', async () => {
  const apps = [{ uid: 1000 }, { uid: 1000 }, { uid: 0 }, { uid: 1001 }];
  assert.equal(appsOwnedBy(1000, apps), 2);
  assert.doesNotThrow(() => checkAppQuota(1000, 1, 2));
  assert.throws(() => checkAppQuota(1000, 2, 2), (e: QuotaError) => e.code === 'TOO_MANY_APPS' && /limit per user is 2/.test(e.message) && /ksapp release/.test(e.hint));
  assert.doesNotThrow(() => checkAppQuota(0, 1e6, 2));
  const sup = { apps: new Map([['a', { uid: 7 }]]) };
  let finish!: () => void;
  const slow = withinAppQuota(sup, 7, () => new Promise<string>((r) => { finish = () => r('added'); }), 2);
  await assert.rejects(withinAppQuota(sup, 7, async () => 'second', 2), /already has 2 apps/, 'the addition in flight counts');
  assert.equal(await withinAppQuota(sup, 0, async () => 'root', 2), 'root');
  finish();
  assert.equal(await slow, 'added');
  assert.equal(await withinAppQuota(sup, 7, async () => 'after', 2), 'after', 'a finished addition no longer counts twice');
});

test('status cache: one build for concurrent callers, reused while fresh, rebuilt after a new event or when stale; failures are not kept', async () => {
  let now = 0;
  let builds = 0;
  let fail = false;
  const cache = new StatusCache(async () => { builds++; if (fail) throw new Error('nft failed'); return builds; }, 250, () => now);
  const v1 = {};
  assert.deepEqual(await Promise.all([cache.get(v1), cache.get(v1), cache.get(v1)]), [1, 1, 1]);
  now = 249;
  assert.equal(await cache.get(v1), 1);
  assert.equal(await cache.get({}), 2, 'a new event: built again');
  now = 600;
  fail = true;
  const v2 = {};
  await assert.rejects(cache.get(v2), /nft failed/);
  fail = false;
  assert.equal(await cache.get(v2), 4, 'a failed build is not reused');
});

// ---- the server, with a handler whose requests finish when the test says so ----

const dir = await mkdtemp(path.join(os.tmpdir(), 'ksapp-limits-'));
after(() => rm(dir, { recursive: true, force: true }));

class FakeHandler implements RequestHandler {
  running = 0;
  peak = 0;
  readonly waiting: Array<() => void> = [];
  subscribers = 0;
  send: ((m: StreamMessage) => void) | undefined;
  async handle(request: Request, session: Session): Promise<unknown> {
    if (request.op === 'register') session.onClose(() => undefined); // as the daemon ties an app to the connection
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    if (request.op === 'freeze') await new Promise<void>((r) => this.waiting.push(r));
    this.running--;
    return { op: request.op };
  }
  subscribe(send: (m: StreamMessage) => void): () => void {
    this.subscribers++;
    this.send = send;
    return () => { this.subscribers--; };
  }
}

async function serve(l: Partial<IpcLimits>): Promise<{ server: IpcServer; handler: FakeHandler; socket: string }> {
  const socket = path.join(dir, `s${Math.random().toString(36).slice(2, 8)}.sock`);
  const handler = new FakeHandler();
  const server = new IpcServer(socket, handler, l);
  await server.listen();
  after(() => server.close());
  return { server, handler, socket };
}

function connect(socket: string): Promise<{ s: net.Socket; lines: string[]; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socket);
    const lines: string[] = [];
    let buf = '';
    let closed = false;
    s.on('data', (d) => { buf += d.toString(); const parts = buf.split('\n'); buf = parts.pop() ?? ''; lines.push(...parts); });
    s.on('close', () => { closed = true; });
    s.on('error', () => undefined);
    s.once('connect', () => resolve({ s, lines, closed: () => closed }));
    s.once('error', reject);
  });
}

test('server: requests of one connection past maxInFlight wait (the socket is paused), none is dropped', async () => {
  const { handler, socket } = await serve({ maxInFlight: 3 });
  const c = await connect(socket);
  c.s.write(Array.from({ length: 50 }, (_, i) => `{"id":${i + 1},"op":"freeze","name":"x"}\n`).join(''));
  assert.ok(await waitUntil(() => handler.waiting.length === 3, 2000, 5));
  await new Promise((r) => setTimeout(r, 50)); // a moment in which more would have started
  assert.equal(handler.running, 3);
  while (c.lines.length < 50) {
    handler.waiting.splice(0).forEach((r) => r());
    assert.ok(await waitUntil(() => handler.waiting.length > 0 || c.lines.length === 50, 2000, 2));
  }
  assert.equal(handler.peak, 3);
  assert.deepEqual(c.lines.map((l) => (JSON.parse(l) as { id: number }).id).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1));
  c.s.destroy();
});

test('server: an idle connection is closed with IDLE_TIMEOUT; one with an app tied to it, a subscriber or a request in flight stays', async () => {
  const { server, handler, socket } = await serve({ idleTimeoutMs: 150 });
  const idle = await connect(socket);
  const busy = await connect(socket);
  busy.s.write('{"id":1,"op":"freeze","name":"x"}\n');
  const sub = await connect(socket);
  sub.s.write('{"id":1,"op":"subscribe"}\n');
  const asked = await connect(socket);
  asked.s.write('{"id":1,"op":"status"}\n');
  const tied = await connect(socket);
  tied.s.write('{"id":1,"op":"register"}\n');
  assert.ok(await waitUntil(() => idle.closed(), 3000, 10), 'idle connection closed');
  assert.match(idle.lines[0] ?? '', /IDLE_TIMEOUT/);
  assert.ok(await waitUntil(() => asked.closed(), 3000, 10), 'idle again after its answer: closed too');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(busy.closed(), false, 'a request in flight keeps it');
  assert.equal(sub.closed(), false, 'a subscriber stays');
  assert.equal(tied.closed(), false, 'a connection with an app tied to it stays');
  assert.match(tied.lines[0] ?? '', /"ok":true/);
  assert.equal(server.connections, 3);
  assert.equal(server.activeConnections, 3);
  handler.waiting.splice(0).forEach((r) => r());
  assert.ok(await waitUntil(() => busy.closed(), 3000, 10), 'closed once its request is answered and it idles');
  sub.s.destroy();
  tied.s.destroy();
  assert.ok(await waitUntil(() => handler.subscribers === 0, 2000, 10), 'unsubscribed on close');
});

test('server: a subscriber that does not read is disconnected once its unread output passes maxUnreadBytes', async () => {
  const { handler, socket } = await serve({ maxUnreadBytes: 64 * 1024 });
  const c = await connect(socket);
  c.s.write('{"id":1,"op":"subscribe"}\n');
  assert.ok(await waitUntil(() => handler.send !== undefined, 2000, 5));
  c.s.pause();
  const event = { type: 'event', event: { at: new Date(0).toISOString(), type: 'app-frozen', detail: 'x'.repeat(1000) } } as const;
  // Far more than the kernel's socket buffer and the bound together.
  for (let i = 0; i < 4000 && handler.subscribers > 0; i++) handler.send!(event);
  assert.ok(await waitUntil(() => handler.subscribers === 0, 2000, 10), 'dropped');
  c.s.destroy();
});
