// The in-process netlink link source: pure decoding on literal addon objects, then the real
// kernel in a network namespace this test creates (a veth pair: it has a carrier without a
// helper process), with the source running in a child entered into that namespace.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { runTool } from '../src/tools.js';
import { applyEvent, linkHealth, stateFromSnapshot } from '../src/monitor/link-state.js';
import { applyToTable, decodeEvent, routeConcerns, snapshotOf, type LinkTable, type RawAddr, type RawLink, type RawNetlinkEvent, type RawRoute } from '../src/monitor/netlink-decode.js';
import { NetlinkSource, type RtnetlinkAddon } from '../src/monitor/netlink-source.js';
import type { SourceHealth } from '../src/monitor/source.js';
import { MessageChild, type Msg } from './helpers/message-child.js';

const link = (o: Partial<RawLink> = {}): RawLink => ({ kind: 'link', deleted: false, family: 0, ifindex: 7, ifname: 'wg0', up: true, lowerUp: true, operstate: 0, linkKind: 'wireguard', ...o });
const addr = (o: Partial<RawAddr> = {}): RawAddr => ({ kind: 'addr', deleted: false, ifindex: 7, family: 2, address: '10.8.0.2', local: '10.8.0.2', prefixlen: 24, scope: 0, tentative: false, dadfailed: false, ...o });
const route = (o: Partial<RawRoute> = {}): RawRoute => ({ kind: 'route', deleted: false, family: 2, table: 27507, type: 1, dst: '', prefixlen: 0, oif: 7, gateway: '', linkdown: false, ...o });

describe('netlink decode (pure)', () => {
  test('a link message becomes a LinkEvent judged like ip monitor would', () => {
    assert.deepEqual(decodeEvent(link(), new Map()), { kind: 'link', deleted: false, ifindex: 7, ifname: 'wg0', flags: ['UP', 'LOWER_UP'], state: 'UNKNOWN', adminUp: true, up: true });
    const down = decodeEvent(link({ up: false, lowerUp: false, operstate: 2 }), new Map());
    assert.ok(down?.kind === 'link' && !down.up && !down.adminUp && down.state === 'DOWN');
    const lowerDown = decodeEvent(link({ operstate: 3 }), new Map());
    assert.ok(lowerDown?.kind === 'link' && !lowerDown.up && lowerDown.adminUp);
    assert.equal(decodeEvent(link({ family: 7 }), new Map()), null, 'a bridge-port message is not the device');
  });

  test('addresses: IFA_LOCAL is ours, IFA_ADDRESS its peer; IPv6 sends IFA_ADDRESS only; DAD flags', () => {
    const table: LinkTable = new Map();
    applyToTable(table, link());
    assert.deepEqual(decodeEvent(addr({ address: '10.8.0.1', prefixlen: 32 }), table), {
      kind: 'addr', deleted: false, ifindex: 7, ifname: 'wg0', family: 'inet', address: '10.8.0.2', peer: '10.8.0.1', prefixlen: 32, scope: 'global', tentative: false,
    });
    const v6 = decodeEvent(addr({ family: 10, address: 'fd00::2', local: '', prefixlen: 64, scope: 253, dadfailed: true }), table);
    assert.ok(v6?.kind === 'addr' && v6.address === 'fd00::2' && v6.peer === undefined && v6.scope === 'link' && v6.tentative);
    assert.equal(decodeEvent(addr({ family: 17 }), table), null);
  });

  test('routes: default, host and prefix destinations, table names, types, device', () => {
    const table: LinkTable = new Map([[7, { ifindex: 7, ifname: 'wg0', flags: [], operstate: 'UP', kind: null, tunType: null, addrs: [] }]]);
    assert.deepEqual(decodeEvent(route({ deleted: true }), table), { kind: 'route', deleted: true, family: 'inet', type: 'unicast', dst: 'default', table: '27507', linkdown: false, dev: 'wg0' });
    const host = decodeEvent(route({ dst: '10.0.0.1', prefixlen: 32, table: 254, gateway: '10.8.0.1' }), table);
    assert.ok(host?.kind === 'route' && host.dst === '10.0.0.1' && host.table === 'main' && host.via === '10.8.0.1');
    const un = decodeEvent(route({ family: 10, type: 7, dst: 'fd00::', prefixlen: 8, oif: 1, table: 255 }), table);
    assert.ok(un?.kind === 'route' && un.type === 'unreachable' && un.dst === 'fd00::/8' && un.table === 'local' && un.family === 'inet6');
  });

  test('routeConcerns: through the interface, or a device-less fallback; not other devices', () => {
    assert.equal(routeConcerns(route(), 7), true);
    assert.equal(routeConcerns(route({ oif: 3 }), 7), false);
    assert.equal(routeConcerns(route({ type: 7, oif: 0 }), 7), true);
    assert.equal(routeConcerns(route({ type: 7, oif: 1, family: 10 }), null), true);
    assert.equal(routeConcerns(route(), null), false);
  });

  test('the table follows dumps and events in order; the snapshot feeds link-state', () => {
    const table: LinkTable = new Map();
    for (const raw of [link({ ifindex: 1, ifname: 'lo' }), link(), addr(), addr({ family: 10, address: 'fe80::1', local: '', prefixlen: 64, scope: 253 }), addr({ ifindex: 99 })]) applyToTable(table, raw);
    const snap = snapshotOf(table, 'wg0');
    assert.equal(snap?.kind, 'wireguard');
    applyToTable(table, link({ ifindex: 5, ifname: 'tap0', linkKind: 'tun', tunType: 2 }));
    assert.deepEqual([snapshotOf(table, 'tap0')?.kind, snapshotOf(table, 'tap0')?.tunType], ['tun', 'tap']);
    assert.equal(snap?.addrs.length, 2);
    const state = stateFromSnapshot('wg0', snap);
    assert.deepEqual(linkHealth(state), { healthy: true, reason: 'wg0 up with 1 address' });
    applyToTable(table, addr({ deleted: true }));
    assert.equal(snapshotOf(table, 'wg0')?.addrs.length, 1, 'the IPv4 address is gone, the link-local stays');
    assert.equal(snap?.addrs.length, 2, 'a snapshot is a copy');
    applyToTable(table, link({ deleted: true }));
    assert.equal(snapshotOf(table, 'wg0'), null);
  });

  test('decoded events drive applyEvent: down, address loss, deletion, re-creation', () => {
    const table: LinkTable = new Map();
    applyToTable(table, link());
    applyToTable(table, addr());
    const s = stateFromSnapshot('wg0', snapshotOf(table, 'wg0'));
    const feed = (raw: RawLink | RawAddr) => {
      const e = decodeEvent(raw, table);
      applyToTable(table, raw);
      return e ? applyEvent(s, e) : 'ignored';
    };
    assert.equal(feed(link({ up: false, lowerUp: false, operstate: 2 })), 'changed');
    assert.equal(linkHealth(s).reason, 'wg0 set down');
    feed(link());
    assert.equal(feed(addr({ deleted: true })), 'changed');
    assert.equal(linkHealth(s).reason, 'wg0 lost all its addresses');
    feed(link({ deleted: true }));
    assert.equal(linkHealth(s).reason, 'wg0 deleted');
    assert.equal(feed(link({ ifindex: 8 })), 'resync', 'a new ifindex under our name');
  });
});

/** An addon the test drives by hand: each open() gets its own callback. */
class FakeAddon implements RtnetlinkAddon {
  callbacks: ((events: RawNetlinkEvent[], at: bigint) => void)[] = [];
  closed = 0;
  openError: string | undefined;
  open(callback: (events: RawNetlinkEvent[], at: bigint) => void): object {
    if (this.openError) throw Object.assign(new Error('rtnetlink socket: failed'), { code: this.openError });
    this.callbacks.push(callback);
    return {};
  }
  close(): void {
    this.closed++;
  }
  /** Delivers a batch on the socket opened last (or on `which`). */
  send(events: RawNetlinkEvent[], which = this.callbacks.length - 1): void {
    this.callbacks[which]?.(events, process.hrtime.bigint());
  }
}

const DUMP: RawNetlinkEvent[] = [link({ ifindex: 1, ifname: 'lo' }), link(), addr(), { kind: 'dump-done' }];

function fakeSource(): { fake: FakeAddon; source: NetlinkSource; seen: SourceHealth[]; routes: unknown[] } {
  const fake = new FakeAddon();
  const source = new NetlinkSource({ iface: 'wg0', addon: fake, backoffMs: 5 });
  const seen: SourceHealth[] = [];
  const routes: unknown[] = [];
  source.on('health', (h: SourceHealth) => seen.push(h));
  source.on('route', (r: unknown) => routes.push(r));
  return { fake, source, seen, routes };
}

describe('netlink source (fake addon)', () => {
  test('start() resolves on the dump; one batch is judged as a whole; routes of other devices stay out', async () => {
    const { fake, source, seen, routes } = fakeSource();
    const started = source.start();
    fake.send([link(), addr()]); // events before the dump ends carry no belief yet
    assert.equal(seen.length, 0);
    fake.send(DUMP);
    await started;
    assert.deepEqual(seen.map((h) => h.reason), ['wg0 up with 1 address']);
    assert.deepEqual([source.lastSnapshot?.kind, source.lastSnapshot?.addrs.map((a) => a.address)], ['wireguard', ['10.8.0.2']]);
    fake.send([route({ oif: 1 }), route({ oif: 3 }), route()]);
    assert.equal(routes.length, 1);
    fake.send([link({ up: false, lowerUp: false, operstate: 2 }), addr({ deleted: true }), link({ deleted: true })]);
    assert.deepEqual(seen.map((h) => h.reason), ['wg0 up with 1 address', 'wg0 deleted']);
    fake.send([link({ ifindex: 9 }), addr({ ifindex: 9 })]);
    assert.equal(seen.at(-1)?.reason, 'wg0 up with 1 address', 're-created: judged from the table, no kernel call');
    await source.stop();
    assert.equal(fake.closed, 1);
  });

  test('an overrun holds judgement until the re-dump, which is judged afresh', async () => {
    const { fake, source, seen } = fakeSource();
    const started = source.start();
    fake.send(DUMP);
    await started;
    const down = link({ up: false, lowerUp: false, operstate: 2 });
    fake.send([{ kind: 'overrun' }, down]);
    assert.equal(seen.length, 1, 'no judgement on a table that lost events');
    fake.send([link({ ifindex: 1, ifname: 'lo' }), down, addr(), { kind: 'dump-done' }]);
    assert.deepEqual(seen.map((h) => h.reason), ['wg0 up with 1 address', 'wg0 set down']);
    fake.send([{ kind: 'overrun' }]);
    fake.send([link({ ifindex: 1, ifname: 'lo' }), { kind: 'dump-done' }]);
    assert.equal(seen.at(-1)?.reason, 'wg0 does not exist', 'the table is rebuilt, not patched');
    await source.stop();
  });

  test('a failed socket reports down, is closed and reopened with backoff; up only after a fresh dump', async () => {
    const { fake, source, seen } = fakeSource();
    const started = source.start();
    fake.send(DUMP);
    await started;
    fake.send([{ kind: 'failed', errno: 9 }]);
    assert.deepEqual([seen.at(-1)?.healthy, seen.at(-1)?.reason, fake.closed], [false, 'link monitor failed: EBADF', 1]);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(fake.callbacks.length, 2, 'reopened');
    fake.send(DUMP, 0);
    assert.equal(seen.at(-1)?.healthy, false, 'the old socket is not listened to');
    fake.send(DUMP);
    assert.equal(seen.at(-1)?.healthy, true);
    await source.stop();
  });

  test('a socket that cannot be opened: start() resolves down, and the source keeps trying', async () => {
    const { fake, source, seen } = fakeSource();
    fake.openError = 'EMFILE';
    await source.start();
    assert.deepEqual(seen.map((h) => h.reason), ['link monitor failed: EMFILE']);
    fake.openError = undefined;
    await new Promise((r) => setTimeout(r, 30));
    fake.send(DUMP);
    assert.equal(seen.at(-1)?.healthy, true);
    await source.stop();
  });

  test('without the addon, start() throws a MonitorError', { skip: NetlinkSource.available ? 'the addon is built' : false }, async () => {
    await assert.rejects(new NetlinkSource({ iface: 'wg0' }).start(), { code: 'MONITOR_NO_NETLINK' });
  });
});

// ---- The real kernel ----

const skip = process.getuid?.() !== 0 ? 'needs root' : !NetlinkSource.available ? 'the rtnetlink addon is not built' : false;
const SFX = randomBytes(3).toString('hex');
const NS = `ksnl${SFX}`;
const DEV = `kn${SFX}`;
const PEER = `kp${SFX}`;
const ADDR = '10.78.0.2/24';
const ip = (...args: string[]) => runTool('ip', ['-n', NS, ...args]);
const SOURCES_URL = { netlink: new URL('../src/monitor/netlink-source.js', import.meta.url).href, ipmonitor: new URL('../src/monitor/link-source.js', import.meta.url).href };
// The child: one source (NetlinkSource, or LinkSource for comparison) speaking JSON lines.
const CHILD = `
const opts = JSON.parse(process.argv[1]);
const mod = await import(opts.url);
const out = (o) => process.stdout.write(JSON.stringify(o, (k, v) => typeof v === 'bigint' ? String(v) : v) + '\\n');
const s = new (mod.NetlinkSource ?? mod.LinkSource)({ iface: opts.iface });
s.on('health', (h) => out({ type: 'health', ...h, emittedAt: process.hrtime.bigint() }));
s.on('route', (r) => out({ ...r, type: 'route', routeType: r.type }));
s.on('warning', (e) => out({ type: 'warning', message: String(e) }));
// stdin keeps the process alive: the addon's thread does not (it is unref'd, like procevents).
process.stdin.on('data', () => {});
process.stdin.on('end', async () => { await s.stop(); process.exit(0); });
const t0 = process.hrtime.bigint();
await s.start();
out({ type: 'started', ...s.health, startMs: Number(process.hrtime.bigint() - t0) / 1e6 });
`;

/** A source running in the namespace; its messages queued by type. */
class SourceChild extends MessageChild {
  constructor(proc: ResultPromise) {
    super(proc, 'source child');
  }

  /** Health messages until one matches; those before it (a deletion first reads as "set down") are skipped. */
  async health(healthy: boolean, reason: RegExp): Promise<Msg> {
    const seen: unknown[] = [];
    for (;;) {
      const h = await this.next('health').catch((e: unknown) => {
        throw new Error(`${String(e)}; waiting for ${String(healthy)} ${String(reason)}, saw ${JSON.stringify(seen)}`);
      });
      if (h.healthy === healthy && reason.test(String(h.reason))) return h;
      seen.push([h.healthy, h.reason]);
    }
  }

  /** Ends the source (stdin closed → stop()), SIGKILL if it does not go. */
  async close(): Promise<void> {
    if (this.exited || this.proc.pid === undefined) return;
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3_000);
    await this.proc;
    clearTimeout(timer);
  }
}

const children: SourceChild[] = [];
let batch: ResultPromise | undefined;

async function startChild(which: keyof typeof SOURCES_URL, iface = DEV): Promise<{ child: SourceChild; started: Msg }> {
  const proc = execa('nsenter', [`--net=/run/netns/${NS}`, process.execPath, '--input-type=module', '-e', CHILD, JSON.stringify({ url: SOURCES_URL[which], iface })], {
    reject: false, stdin: 'pipe', stderr: 'inherit', buffer: false,
  });
  const child = new SourceChild(proc);
  children.push(child);
  return { child, started: await child.next('started', 10_000) };
}

async function createDev(): Promise<void> {
  await ip('link', 'add', DEV, 'type', 'veth', 'peer', 'name', PEER);
  await ip('addr', 'add', ADDR, 'dev', DEV);
  await ip('link', 'set', PEER, 'up');
  await ip('link', 'set', DEV, 'up');
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? NaN) : ((s[s.length / 2 - 1] ?? NaN) + (s[s.length / 2] ?? NaN)) / 2;
};

/** `ip link set down` (a line to a running `ip -batch`, no spawn) → the unhealthy health event, `rounds` times; milliseconds. */
async function downLatencies(child: SourceChild, rounds: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    batch?.stdin?.write(`link set ${DEV} down\n`);
    const h = await child.health(false, /set down/);
    result.push(Number(BigInt(String(h.emittedAt)) - start) / 1e6);
    batch?.stdin?.write(`link set ${DEV} up\n`);
    await child.health(true, /up with/);
  }
  return result;
}

describe('netlink source against the kernel', { skip }, () => {
  before(async () => {
    await runTool('ip', ['netns', 'add', NS]);
    await ip('link', 'set', 'lo', 'up');
    await runTool('nsenter', [`--net=/run/netns/${NS}`, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    await createDev();
    batch = execa('ip', ['-n', NS, '-force', '-batch', '-'], { reject: false, stdin: 'pipe', stdout: 'ignore', stderr: 'ignore' });
  });

  after(async () => {
    await Promise.all(children.map((c) => c.close().catch(() => undefined)));
    batch?.stdin?.end();
    await batch;
    await runTool('ip', ['netns', 'del', NS]).catch(() => undefined);
  });

  test('follows up, down, address loss, deletion, re-creation and routes', async () => {
    const { child, started } = await startChild('netlink');
    assert.equal(started.healthy, true, JSON.stringify(started));
    assert.equal(started.reason, `${DEV} up with 1 address`);
    assert.equal((await child.next('health')).healthy, true, 'the first judgement was emitted as health');

    await ip('link', 'set', DEV, 'down');
    await child.health(false, /set down$/);
    await ip('link', 'set', DEV, 'up');
    await child.health(true, /up with 1 address/);

    await ip('addr', 'del', ADDR, 'dev', DEV);
    await child.health(false, /lost all its addresses/);
    await ip('addr', 'add', ADDR, 'dev', DEV);
    await child.health(true, /up with 1 address/);

    // Routes of the local and main tables came with the address changes; ours is table 27507.
    const ourRoute = async (): Promise<unknown[]> => {
      for (;;) {
        const r = await child.next('route');
        if (r.table === '27507') return [r.deleted, r.routeType, r.dst, r.dev];
      }
    };
    await ip('route', 'add', 'default', 'dev', DEV, 'table', '27507');
    assert.deepEqual(await ourRoute(), [false, 'unicast', 'default', DEV]);
    await ip('route', 'add', 'unreachable', 'default', 'metric', '4000', 'table', '27507');
    assert.deepEqual(await ourRoute(), [false, 'unreachable', 'default', undefined]);
    await ip('route', 'del', 'default', 'dev', DEV, 'table', '27507');
    assert.deepEqual(await ourRoute(), [true, 'unicast', 'default', DEV]);

    await ip('link', 'del', DEV);
    await child.health(false, new RegExp(`^${DEV} deleted$`));
    await createDev();
    await child.health(true, /up with 1 address/);
  });

  test('an interface that does not exist yet is down until it appears', async () => {
    const late = `kl${SFX}`;
    const { child, started } = await startChild('netlink', late);
    assert.deepEqual([started.healthy, started.reason], [false, `${late} does not exist`]);
    await ip('link', 'add', late, 'type', 'veth', 'peer', 'name', `km${SFX}`);
    await ip('link', 'set', `km${SFX}`, 'up');
    await ip('link', 'set', late, 'up');
    await child.health(false, /has no address/);
    await ip('addr', 'add', '10.79.0.2/24', 'dev', late);
    await child.health(true, /up with 1 address/);
    await child.close();
  });

  test('latency figures: ip link set down → health event (median of 20) and start() (median of 5), netlink vs ip monitor', async () => {
    const figures: Record<string, number[]> = {};
    const stat = (xs: number[]) => `median ${median(xs).toFixed(2)} ms (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)}, n=${xs.length})`;
    for (const which of ['netlink', 'ipmonitor'] as const) {
      const starts: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { child, started } = await startChild(which);
        assert.equal(started.healthy, true, `${which}: ${JSON.stringify(started)}`);
        starts.push(Number(started.startMs));
        await child.next('health');
        if (i === 0) figures[`${which}: ip link set down → health`] = await downLatencies(child, 20);
        await child.close();
      }
      figures[`${which}: start() → first health judged`] = starts;
    }
    for (const [name, xs] of Object.entries(figures)) console.log(`${name}, ${stat(xs)}`);
  });
});
