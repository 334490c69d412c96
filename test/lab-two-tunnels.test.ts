import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLab, fixturePath, planFor, TUNNEL2_FAULTS, vpnNatRuleset, wgIfaceNames, type Lab, type Received, type TunnelPlan } from '../src/lab/index.js';
import { listNamespaces } from '../src/lab/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync('/dev/net/tun') ? 'no /dev/net/tun' : false;

/** argv: SRC DST TAG COUNT GAP_MS — sends "TAG SEQ" COUNT times from SRC to DST:7000, GAP_MS apart. */
const SEND_FROM = `
const dgram = require('node:dgram');
const [src, dst, tag, n, gap] = process.argv.slice(1);
const sock = dgram.createSocket(src.includes(':') ? 'udp6' : 'udp4');
sock.on('error', () => {});
sock.bind({ address: src }, async () => {
  for (let i = 1; i <= Number(n); i++) {
    await new Promise((done) => sock.send(tag + ' ' + i + '\\n', 7000, dst, done));
    await new Promise((done) => setTimeout(done, Number(gap)));
  }
  sock.close();
});`;

/** Sends datagrams from one of the client's own addresses to the internet host: the source picks the tunnel (see routeBySource). */
async function sendFrom(lab: Lab, src: string, tag: string, count = 10, gapMs = 50): Promise<void> {
  const dst = src.includes(':') ? lab.addr.internet6 : lab.addr.internet4;
  await lab.exec('client', [process.execPath, '-e', SEND_FROM, src, dst, tag, String(count), String(gapMs)]);
}

/** Source routing in the client namespace: whatever is sent from a tunnel's addresses leaves by that tunnel (like an app bound to it). */
async function routeBySource(lab: Lab, t: TunnelPlan, table: number): Promise<void> {
  for (const [v, from, dst] of [['-4', t.client4, 'default'], ['-6', t.client6, '::/0']] as const) {
    await lab.exec('client', ['ip', v, 'rule', 'add', 'from', from, 'lookup', String(table)]);
    await lab.exec('client', ['ip', v, 'route', 'add', dst, 'dev', t.clientIface, 'table', String(table)]);
  }
}

/** Polls a recorder until `pred` holds, or fails after timeoutMs. */
async function waitFor(read: () => Promise<Received[]>, pred: (rs: Received[]) => boolean, what: string, timeoutMs = 5000): Promise<Received[]> {
  for (const deadline = Date.now() + timeoutMs; ; await delay(50)) {
    const rs = await read();
    if (pred(rs)) return rs;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; have ${JSON.stringify(rs.slice(-5))}`);
  }
}

type Origin = ReturnType<Lab['origin']>;

/** Sends a tag from a pair of the client's addresses (v4, v6) and asserts that it arrived, from both families, only by the expected exit. */
async function assertExit(lab: Lab, from: readonly [string, string], tag: string, origin: Origin, exits: readonly string[]): Promise<void> {
  await Promise.all(from.map((src) => sendFrom(lab, src, tag)));
  const rs = await waitFor(() => lab.received(), (r) => exits.every((e) => r.some((x) => x.tag === tag && x.src === e)), `${tag} via ${origin}`);
  const mine = rs.filter((r) => r.tag === tag);
  assert.deepEqual([...new Set(mine.map((r) => lab.origin(r.src)))], [origin], `${tag}: ${JSON.stringify(mine.slice(0, 3))}`);
}

async function assertGone(lab: Lab): Promise<void> {
  assert.deepEqual((await listNamespaces()).filter((n) => n.includes(`ksl-${lab.suffix}`)), []);
  const survivors = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(lab.suffix); } catch { return false; }
  });
  assert.deepEqual(survivors, [], 'no process of the lab (both tunnels\' wireguard-go, recorders) survives');
  for (const iface of wgIfaceNames(lab.suffix)) assert.equal(existsSync(`/run/wireguard/${iface}.sock`), false, iface);
  assert.equal(existsSync(lab.dir), false);
}

test('the second tunnel is opt-in: the default plan and NAT are unchanged', () => {
  const one = planFor('a1b2c3', 'app-only');
  assert.equal('tunnel2' in one, false);
  assert.equal('vpnPublic4b' in one.addr, false);
  assert.match(vpnNatRuleset(one), /ip saddr 10\.66\.0\.0\/24 masquerade\n.*ip6 saddr fd66::\/64 masquerade\n  }/);
  const two = planFor('a1b2c3', 'app-only', 2);
  assert.deepEqual(two.tunnel2, { clientIface: 'kda1b2c3', serverIface: 'kta1b2c3', client4: '10.67.0.2', client6: 'fd67::2', server4: '10.67.0.1', server6: 'fd67::1' });
  assert.deepEqual([two.addr.vpnPublic4b, two.addr.vpnPublic6b], ['198.18.2.3', 'fd00:2::3']);
  const nat = vpnNatRuleset(two);
  assert.match(nat, /ip saddr 10\.66\.0\.0\/24 snat ip to 198\.18\.2\.2/);
  assert.match(nat, /ip6 saddr fd67::\/64 snat ip6 to fd00:2::3/);
  for (const name of [...Object.values(two.links), ...wgIfaceNames('a1b2c3')]) assert.ok(name.length <= 15, name);
  assert.deepEqual(TUNNEL2_FAULTS.map((f) => f.id), ['tunnel2-deleted', 'tunnel2-down', 'address2-removed', 'server2-killed']);
});

test('two tunnels: each leaves by its own exit; tunnel 1 carries on while server 2 is dead; all removed', { skip, timeout: 60_000 }, async (t: TestContext) => {
  const t0 = Date.now();
  const lab = await createLab({ tunnels: 2 });
  t.after(() => lab.destroy());
  t.diagnostic(`createLab({ tunnels: 2 }) took ${Date.now() - t0} ms`);
  const t1 = lab.tunnel;
  const t2 = lab.tunnel2;
  assert.ok(t2 && lab.faults2 && lab.addr.vpnPublic4b && lab.addr.vpnPublic6b);
  const exit1 = [lab.addr.vpnPublic4, lab.addr.vpnPublic6];
  const exit2 = [lab.addr.vpnPublic4b, lab.addr.vpnPublic6b];
  assert.deepEqual(exit2.map((a) => lab.origin(a)), ['tunnel2', 'tunnel2']);
  const via1 = [t1.client4, t1.client6] as const;
  const via2 = [t2.client4, t2.client6] as const;

  await routeBySource(lab, t1, 1066);
  await routeBySource(lab, t2, 1067);
  await Promise.all([
    assertExit(lab, via1, 'via1', 'tunnel', exit1),
    assertExit(lab, via2, 'via2', 'tunnel2', exit2),
    assertExit(lab, [lab.addr.client4, lab.addr.client6], 'direct', 'client', [lab.addr.client4, lab.addr.client6]), // control: the default route stays the ISP's
  ]);

  // The second server's resolver answers through the second tunnel.
  await lab.exec('client', [process.execPath, fixturePath('sender.mjs'), '--tag', 'dns2', '--dns', 'two.test', '--resolver', t2.server4, '--interval', '100', '--duration', '500']);
  await waitFor(() => lab.tunnelDnsQueries(), (r) => r.some((q) => q.tag === 'two.test' && q.src === t2.client4 && q.dst === t2.server4), 'DNS at the second resolver');

  const fault = TUNNEL2_FAULTS.find((f) => f.id === 'server2-killed');
  assert.ok(fault);
  await fault.inject(lab);
  await assert.rejects(lab.exec('vpn', ['ip', 'link', 'show', t2.serverIface]), 'the second server\'s interface died with it');
  await Promise.all([assertExit(lab, via1, 'during1', 'tunnel', exit1), sendFrom(lab, t2.client4, 'during2', 20)]);
  await delay(300);
  assert.equal((await lab.received()).filter((r) => r.tag === 'during2').length, 0, 'nothing of tunnel 2 arrives (nor leaks) while its server is dead');
  const t3 = Date.now();
  await fault.repair(lab);
  t.diagnostic(`server2-killed repaired in ${Date.now() - t3} ms`);
  await Promise.all([assertExit(lab, via2, 'after2', 'tunnel2', exit2), assertExit(lab, via1, 'after1', 'tunnel', exit1)]);

  await lab.destroy();
  await assertGone(lab);
});
