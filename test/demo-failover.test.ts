// The demo's and the bench's failover pieces that need no kernel: the gap read from the
// internet host's records, the freeze span read from cgroup.events changes, the report's
// failover section, and the configs the failover writes (accepted by the real parser).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bareConfig } from '../bench/bare-daemon.js';
import { parseConfig } from '../src/config/index.js';
import type { FailoverResult } from '../src/demo/failover.js';
import { frozenSpan } from '../src/demo/freeze-watch.js';
import { secondTunnelLines } from '../src/demo/lab-config.js';
import { formatFailover, formatReport } from '../src/demo/report.js';
import { switchGap } from '../src/demo/switch-gap.js';
import type { Received } from '../src/lab/index.js';

const lab = { origin: (src: string) => (src === '198.51.100.1' ? 'tunnel' as const : src === '198.51.100.2' ? 'tunnel2' as const : src === '192.0.2.9' ? 'client' as const : 'other' as const) };
const rec = (t: number, src: string, tag = 'ksfabc', proto: Received['proto'] = 'udp'): Received => ({ t, src, dst: '203.0.113.7', proto, tag });
const ONE = '198.51.100.1';
const TWO = '198.51.100.2';

test('switchGap: last packet through the first exit → first through the second, from the fault on', () => {
  const records = [rec(900, ONE), rec(1000, ONE), rec(1040, ONE, 'other-app'), rec(2050, TWO, 'ksfabc', 'dns'), rec(2100, TWO), rec(2140, TWO), rec(3000, ONE)];
  assert.equal(switchGap(records, lab, 'ksfabc', 950, 'tunnel', 'tunnel2'), 1100, 'another tag and DNS queries do not count');
  assert.equal(switchGap(records, lab, 'ksfabc', 2500, 'tunnel2', 'tunnel'), 860, 'and the way back');
  assert.equal(switchGap([...records].reverse(), lab, 'ksfabc', 950, 'tunnel', 'tunnel2'), 1100, 'records in any order');
});

test('switchGap: null when the app never reached the second exit, or had no packet through the first before', () => {
  assert.equal(switchGap([rec(1000, ONE), rec(2000, ONE)], lab, 'ksfabc', 500, 'tunnel', 'tunnel2'), null);
  assert.equal(switchGap([rec(2000, TWO)], lab, 'ksfabc', 500, 'tunnel', 'tunnel2'), null);
  assert.equal(switchGap([rec(1000, ONE), rec(1500, TWO)], lab, 'ksfabc', 1600, 'tunnel', 'tunnel2'), null, 'a packet through the second before `from` is not the move');
});

test('frozenSpan: the first freeze at or after `from` and the thaw that ended it', () => {
  const changes = [{ at: 10, frozen: false }, { at: 20, frozen: true }, { at: 30, frozen: false }, { at: 100, frozen: true }, { at: 148.5, frozen: false }];
  assert.deepEqual(frozenSpan(changes, 0), { frozeAt: 20, thawedAt: 30 });
  assert.deepEqual(frozenSpan(changes, 50), { frozeAt: 100, thawedAt: 148.5 });
  assert.equal(frozenSpan(changes.slice(0, 4), 50), null, 'still frozen: no span yet');
  assert.equal(frozenSpan([{ at: 10, frozen: false }], 0), null, 'never frozen');
});

const failover: FailoverResult = {
  id: 'server-killed', label: 'VPN server killed (silent death)', tunnels: ['kcabc', 'kdabc'], sent: 436, viaFirst: 110, viaSecond: 150, leaked: 0, ispDns: 0,
  dnsViaSecond: 19, moved: true, detectMs: 1061.2, frozenMs: 48.1, moveMs: 50.3, gapMs: 1110, movedBack: true, backGapMs: 76, cleanedUp: true, ok: true,
};

test('formatFailover: one row with the columns the section names, and the lines saying what they mean', () => {
  const lines = formatFailover(failover);
  assert.match(lines[0]!, /ksapp run --tunnel kcabc,kdabc/);
  const [head, , row] = lines.slice(2);
  assert.deepEqual(head!.split(/\s{2,}/), ['failover (first tunnel fails)', 'sent', 'via 1st', 'via 2nd', 'LEAKED', 'ISP DNS', 'detected', 'frozen', 'gap', 'moved', 'moved back']);
  assert.deepEqual(row!.split(/\s{2,}/), ['VPN server killed (silent death)', '436', '110', '150', '0', '0', '1061 ms', '48 ms', '1110 ms', 'yes', 'yes']);
  assert.match(lines.join('\n'), /event seen → frozen, moved and thawed: 50 ms/);
  assert.match(lines.join('\n'), /back on the first tunnel after a 76 ms gap; 19 of its DNS queries/);
  const failed = formatFailover({ ...failover, moved: false, movedBack: false, viaSecond: 0, gapMs: null, ok: false }).slice(2)[2]!;
  assert.match(failed, /\s-\s+NO\s+NO$/);
  assert.deepEqual(formatFailover(null), ['failover: not run (this lab has one VPN server; a lab built with tunnels: 2 adds it)']);
});

test('formatReport: the failover section sits between the whole-run line and the cleanup; a failed failover makes it FAIL', () => {
  const report = { mode: 'app-only', vpn: 'wireguard-go', started: true, faults: [], failover, totals: { sent: 1, viaTunnel: 1, leaked: 0, ispDns: 0, tunnelDnsAnswered: 1 }, cleanedUp: true, ok: true, problems: [] };
  const text = formatReport(report);
  assert.ok(text.indexOf('whole run:') < text.indexOf('failover —') && text.indexOf('failover —') < text.indexOf('cleanup:'));
  assert.match(text.split('\n').at(-1)!, /^RESULT: PASS/);
  const bad = formatReport({ ...report, failover: { ...failover, leaked: 3, ok: false }, ok: false, problems: ['the failover app leaked'] });
  assert.match(bad.split('\n').at(-1)!, /^RESULT: FAIL/);
});

test('the configs the failover writes are accepted by the real parser', () => {
  const tunnel2 = { clientIface: 'kdabc123', serverIface: 'ktabc123', client4: '10.67.0.2', client6: 'fd67::2', server4: '10.67.0.1', server6: 'fd67::1' };
  const demo = parseConfig(['tunnel:', '  interface: kcabc123', 'dns: { servers: [10.66.0.1] }', ...secondTunnelLines({ tunnel2 }), ''].join('\n'));
  assert.deepEqual(demo.tunnels.map((t) => [t.interface, t.dns, t.probe?.address]), [['kcabc123', undefined, undefined], ['kdabc123', ['10.67.0.1', 'fd67::1'], '10.67.0.1']]);
  assert.deepEqual(secondTunnelLines({}), [], 'a one-tunnel lab adds nothing');
  const bench = parseConfig(`${bareConfig('taabc', 'ksapp-b-abc-failover', { second: 'tbabc', tunnelLines: ['holdDown: 1ms', 'maxHoldDown: 64ms'] }).join('\n')}\n`);
  assert.deepEqual(bench.tunnels.map((t) => [t.interface, t.holdDown, t.maxHoldDown]), [['taabc', 1, 64], ['tbabc', 1, 64]]);
  assert.equal(parseConfig(`${bareConfig('taabc', 'rel').join('\n')}\n`).tunnels.length, 1, 'without a second tun, the daemon section\'s config as before');
});
