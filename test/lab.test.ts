import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  createLab, fixturePath, parseLatestHandshakes, parseNetnsList, parsePidLines, parseRecords,
  parseStatStartTime, planFor, removeLeftoverLabs, type Lab, type Received,
} from '../src/lab/index.js';
import { execIn, listNamespaces } from '../src/lab/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync('/dev/net/tun') ? 'no /dev/net/tun' : false;

/** The first resolv.conf nameserver, when getaddrinfo would send queries out (not to loopback). */
const outsideResolver = (() => {
  const ns = /^nameserver\s+(\S+)/m.exec(readFileSync('/etc/resolv.conf', 'utf8'))?.[1];
  return ns && !ns.startsWith('127.') && ns !== '::1' ? ns : undefined;
})();

/** A sender in a lab namespace, ended by pid after the test; stop() returns its counters. */
function sender(t: TestContext, lab: Lab, ns: string, args: string[]): { stop(): Promise<Record<string, unknown>[]> } {
  const [file, ...pre] = lab.nsenterArgs(ns);
  const child: ChildProcess = spawn(file!, [...pre, process.execPath, fixturePath('sender.mjs'), '--interval', '40', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = once(child, 'exit');
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

/** Polls a recorder until `pred` holds for its records, or fails after timeoutMs. */
async function waitFor(read: () => Promise<Received[]>, pred: (rs: Received[]) => boolean, what: string, timeoutMs = 5000): Promise<Received[]> {
  for (const deadline = Date.now() + timeoutMs; ; await delay(50)) {
    const rs = await read();
    if (pred(rs)) return rs;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; have ${JSON.stringify(rs.slice(-5))}`);
  }
}

/**
 * Asserts that a count stops growing: two reads 300 ms apart agree within 3 s. Flowing traffic (every 50 ms)
 * never agrees; a few packets already in flight or still in the recorder's buffer when the fault hit may still land.
 */
async function assertStalls(count: () => Promise<number>, what: string): Promise<number> {
  const seen = [await count()];
  for (const deadline = Date.now() + 3000; Date.now() < deadline;) {
    await delay(300);
    seen.push(await count());
    if (seen.at(-1) === seen.at(-2)) return seen.at(-1)!;
  }
  assert.fail(`${what}: still growing after 3 s (${seen.join(' → ')})`);
}

const protosFrom = (rs: Received[], tag: string, srcs: string[]) =>
  new Set(rs.filter((r) => r.tag === tag && srcs.includes(r.src)).map((r) => `${r.proto}${r.src.includes(':') ? '6' : ''}`));

async function assertGone(lab: Lab): Promise<void> {
  const names = await listNamespaces();
  assert.deepEqual(names.filter((n) => n.includes(`ksl-${lab.suffix}`)), []);
  const survivors = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(lab.suffix); } catch { return false; }
  });
  assert.deepEqual(survivors, [], 'no process of the lab (wireguard-go, recorders) survives');
  assert.equal(existsSync(lab.dir), false);
}

test('pure parsers of the lab', () => {
  assert.deepEqual(parseNetnsList('ksl-abc123-client (id: 3)\nother\n\n'), ['ksl-abc123-client', 'other']);
  assert.equal(parseStatStartTime('42 (a b) c) S 1 42 42 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 98765 1 2'), 98765);
  assert.deepEqual(parsePidLines('wg-client 10 500\nbad\nrec 11 7\n'), [{ name: 'wg-client', pid: 10, start: 500 }, { name: 'rec', pid: 11, start: 7 }]);
  assert.deepEqual([...parseLatestHandshakes('AbC=\t1700000000\nDeF=\t0\n')], [['AbC=', 1700000000], ['DeF=', 0]]);
  assert.deepEqual(parseRecords('{"t":1,"proto":"udp","src":"a","dst":"b","tag":"x"}\n{"t":2,"pro'), [{ t: 1, proto: 'udp', src: 'a', dst: 'b', tag: 'x' }]);
  const p = planFor('a1b2c3', 'app-only');
  for (const name of [...Object.values(p.links), p.tunnel.clientIface, p.tunnel.serverIface]) {
    assert.ok(name.length <= 15 && name.includes('a1b2c3'), name);
  }
});

test('app-only lab: direct traffic leaves from the client, tunnel traffic reaches the server, tunnel delete/restore', { skip, timeout: 30_000 }, async (t) => {
  const t0 = Date.now();
  const lab = await createLab({ mode: 'app-only' });
  t.after(() => lab.destroy());
  t.diagnostic(`createLab(app-only) took ${Date.now() - t0} ms`);
  assert.ok(Number((await execIn(lab.ns.client, ['wg', 'show', lab.tunnel.clientIface, 'latest-handshakes'])).split(/\s+/)[1]) > 0);

  const dnsArgs = outsideResolver ? ['--dns', 'plain.test'] : [];
  const plain = sender(t, lab, 'client', ['--tag', 'plain', '--to', lab.addr.internet4, '--to6', lab.addr.internet6, ...dnsArgs]);
  const viaTunnel = sender(t, lab, 'client', ['--tag', 'tun', '--to', lab.tunnel.server4, '--to6', lab.tunnel.server6, '--dns', 'tun.test', '--resolver', lab.tunnel.server4]);
  const own = [lab.addr.client4, lab.addr.client6];
  const rs = await waitFor(() => lab.received(), (r) => protosFrom(r, 'plain', own).size === 4, 'plain traffic from the client');
  assert.ok(rs.every((r) => r.tag !== 'plain' || lab.origin(r.src) === 'client'));
  if (outsideResolver) {
    await waitFor(() => lab.received(), (r) => r.some((q) => q.proto === 'dns' && q.tag === 'plain.test' && q.src === lab.addr.client4), 'getaddrinfo DNS at the ISP resolver');
  } else t.diagnostic('resolv.conf names a loopback resolver: getaddrinfo DNS not checked');
  const tunnelSrc = [lab.tunnel.client4, lab.tunnel.client6];
  await waitFor(() => lab.serverReceived(), (r) => protosFrom(r, 'tun', tunnelSrc).size === 4, 'traffic through the tunnel');
  await waitFor(() => lab.tunnelDnsQueries(), (r) => r.some((q) => q.tag === 'tun.test' && q.src === lab.tunnel.client4), 'DNS at the tunnel resolver');
  assert.equal((await lab.received()).filter((r) => r.tag === 'tun').length, 0, 'tunnel-only traffic never reaches the internet host');

  await lab.faults.deleteTunnel();
  await assert.rejects(execIn(lab.ns.client, ['ip', 'link', 'show', lab.tunnel.clientIface]));
  const before = await assertStalls(async () => (await lab.serverReceived()).filter((r) => r.tag === 'tun').length, 'nothing reaches the server without the tunnel');

  const t1 = Date.now();
  await lab.faults.restoreTunnel();
  t.diagnostic(`restoreTunnel took ${Date.now() - t1} ms`);
  await waitFor(() => lab.serverReceived(), (r) => r.filter((x) => x.tag === 'tun').length > before + 8, 'tunnel traffic after restore');
  const [counters] = await plain.stop();
  assert.equal(counters?.tag, 'plain');
  await viaTunnel.stop();

  await lab.destroy();
  await lab.destroy(); // idempotent
  await assertGone(lab);
});

test('default-route lab: traffic leaves from the VPN address; every fault and its repair', { skip, timeout: 40_000 }, async (t) => {
  const t0 = Date.now();
  const lab = await createLab({ mode: 'default-route' });
  t.after(() => lab.destroy());
  t.diagnostic(`createLab(default-route) took ${Date.now() - t0} ms`);
  const vpn = [lab.addr.vpnPublic4, lab.addr.vpnPublic6];
  const own = [lab.addr.client4, lab.addr.client6];
  const count = async (srcs: string[]) => (await lab.received()).filter((r) => r.tag === 'app' && srcs.includes(r.src)).length;
  const dnsArgs = outsideResolver ? ['--dns', 'app.test'] : [];
  const app = sender(t, lab, 'client', ['--tag', 'app', '--to', lab.addr.internet4, '--to6', lab.addr.internet6, '--fork-depth', '1', ...dnsArgs]);
  await waitFor(() => lab.received(), (r) => protosFrom(r, 'app', vpn).size === 4 && protosFrom(r, 'app-child1', vpn).size === 4, 'app traffic via the VPN');
  if (outsideResolver) await waitFor(() => lab.received(), (r) => r.some((q) => q.proto === 'dns' && q.tag === 'app.test' && q.src === lab.addr.vpnPublic4), 'DNS via the VPN');
  assert.equal(await count(own), 0, 'nothing from the client address');

  /** Breaks, checks that no more app traffic arrives, repairs, checks that it flows again. */
  const cycle = async (name: string, brk: () => Promise<void>, fix: () => Promise<void>) => {
    await brk();
    const stalled = await assertStalls(() => count(vpn), `${name}: no traffic while broken`);
    const t1 = Date.now();
    await fix();
    await waitFor(async () => (await lab.received()).filter((r) => r.tag === 'app' && vpn.includes(r.src)), (r) => r.length > stalled + 8, `${name}: traffic after repair`);
    t.diagnostic(`${name}: repaired in ${Date.now() - t1} ms`);
  };
  await cycle('delete', () => lab.faults.deleteTunnel(), () => lab.faults.restoreTunnel());
  await cycle('down', () => lab.faults.setTunnelDown(), () => lab.faults.setTunnelUp());
  await cycle('address', () => lab.faults.removeTunnelAddress(), () => lab.faults.restoreTunnelAddress());
  await cycle('server', () => lab.faults.killServer(), () => lab.faults.restartServer());
  await cycle('port', () => lab.faults.blockServerPort(), () => lab.faults.unblockServerPort());
  assert.equal(await count(own), 0, 'in default-route mode a dead tunnel means no route, not a leak');

  await lab.faults.addRouteAround(lab.addr.internet4, lab.addr.internet6);
  // UDP is routed afresh per datagram; the kept TCP connections still carry the tunnel's source and stall.
  await waitFor(() => lab.received(), (r) => protosFrom(r, 'app', own).has('udp') && protosFrom(r, 'app', own).has('udp6'), 'traffic around the tunnel');
  await lab.faults.removeRouteAround();
  await delay(200);
  const leaked = await count(own);
  await delay(300);
  assert.equal(await count(own), leaked, 'route removed: traffic back in the tunnel');

  const counters = await app.stop();
  assert.deepEqual(counters.map((c) => c.tag).sort(), ['app', 'app-child1']);
  await lab.destroy();
  await assertGone(lab);
});

test('a lab is removed on SIGINT, and a crashed lab by removeLeftoverLabs', { skip, timeout: 20_000 }, async () => {
  const script = `import { createLab } from ${JSON.stringify(new URL('../src/lab/index.js', import.meta.url).href)};
const lab = await createLab(); console.log(lab.suffix); setInterval(() => {}, 1000);`;
  const start = async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    return { child, suffix: line.toString().trim() };
  };
  const nsOf = async (s: string) => (await listNamespaces()).filter((n) => n.startsWith(`ksl-${s}-`));

  const a = await start();
  assert.equal((await nsOf(a.suffix)).length, 4);
  a.child.kill('SIGINT');
  const [code, signal] = (await once(a.child, 'exit')) as [number | null, string | null];
  assert.ok(signal === 'SIGINT' || code !== 0, 'the process still ends on SIGINT');
  assert.deepEqual(await nsOf(a.suffix), []);

  const b = await start();
  b.child.kill('SIGKILL');
  await once(b.child, 'exit');
  assert.equal((await nsOf(b.suffix)).length, 4, 'a SIGKILLed owner leaves its lab behind');
  const removed = await removeLeftoverLabs();
  assert.ok(removed.includes(`ksl-${b.suffix}-client`), `removed ${removed.join(' ')}`);
  assert.deepEqual(await nsOf(b.suffix), []);
  assert.equal(existsSync(`/run/wireguard/kc${b.suffix}.sock`), false);
});
