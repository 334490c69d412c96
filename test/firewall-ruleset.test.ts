import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasTable } from '../src/firewall/apply.js';
import { markFor, removeTransaction, replaceTransaction, rulesetFor, type FirewallPolicy } from '../src/firewall/index.js';
import { hasMarkRule } from '../src/firewall/routing.js';
import { parseTableJson, verifyTable } from '../src/firewall/readback.js';

const base: FirewallPolicy = {
  tunnelIface: 'wg0',
  parent: { nftPath: 'unified/ksapp', level: 1 },
  apps: [],
  dns: { v4: [], v6: [] },
  lan: { v4: [], v6: [] },
};
const app = (id: number, extra: Partial<FirewallPolicy['apps'][number]> = {}) => ({
  id, name: `app${id}`, cgroup: { nftPath: `unified/ksapp/app${id}`, level: 2 }, allowLan: false, blocked: false, ...extra,
});

test('with no apps the parent catch-all still confines the whole subtree', () => {
  const text = rulesetFor(base);
  assert.match(text, /socket cgroupv2 level 1 "unified\/ksapp" meta mark set 0x6b730000 ct mark set meta mark/);
  assert.match(text, /oifname "wg0" accept/);
  assert.match(text, /counter name "drop_unknown" drop/);
  assert.doesNotMatch(text, /vmap/);
});

test('each app gets a classify rule, a mark, tunnel and drop counters', () => {
  const text = rulesetFor({ ...base, apps: [app(2), app(1)] });
  const classify = text.split('chain classify {')[1]!.split('\n  }')[0]!;
  assert.ok(classify.indexOf('app1"') < classify.indexOf('app2"'), 'apps ordered by id');
  assert.ok(classify.indexOf('goto app_2') < classify.indexOf('level 1 "unified/ksapp" meta'), 'parent rule after the apps');
  assert.match(text, /meta mark set 0x6b730002 ct mark set meta mark accept/);
  assert.match(text, /oifname "wg0" meta mark vmap \{ 0x6b730001 : jump tx_1, 0x6b730002 : jump tx_2 \}/);
  assert.match(text, /meta mark vmap \{ 0x6b730001 : jump dropped_1, 0x6b730002 : jump dropped_2 \}/);
  assert.equal(markFor(2), 0x6b730002);
});

test("kernel-made packets of a protected connection get the connection's mark back", () => {
  const classify = rulesetFor({ ...base, apps: [app(1)] }).split('chain classify {')[1]!.split('\n  }')[0]!;
  const rules = classify.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('type ') && !l.startsWith('//'));
  assert.deepEqual(rules.slice(-3), [
    'socket cgroupv2 level 1 "unified/ksapp" meta mark set 0x6b730000 ct mark set meta mark',
    'meta mark & 0xffff0000 != 0x6b730000 ct mark & 0xffff0000 == 0x6b730000 meta mark set ct mark',
    // A socket the daemon marked (opened before its app was adopted): its connection is protected too.
    'meta mark & 0xffff0000 == 0x6b730000 ct mark set meta mark',
  ]);
});

test('egress lets protected packets out only through the tunnel or loopback', () => {
  const text = rulesetFor(base);
  const lines = (chain: string): string[] => text.split(`chain ${chain} {`)[1]!.split('\n  }')[0]!
    .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('type '));
  // Protected by the packet's mark, or by its connection's (kernel-made packets of a protected flow).
  assert.deepEqual(lines('egress'), [
    'meta mark & 0xffff0000 == 0x6b730000 goto egress_protected',
    'ct mark & 0xffff0000 == 0x6b730000 goto egress_protected',
  ]);
  assert.deepEqual(lines('egress_protected'), [
    'oifname "lo" accept',
    'oifname "wg0" accept',
    'counter name "drop_unknown" drop',
  ]);
});

test('no tunnel known: nothing protected may leave', () => {
  const text = rulesetFor({ ...base, tunnelIface: null, apps: [app(1)] });
  assert.doesNotMatch(text, /oifname "wg0"/);
  assert.doesNotMatch(text, /masquerade/);
  assert.match(text, /iifname != \{ "lo" \}/);
});

test('inbound on any interface but the tunnel and loopback is dropped for protected sockets', () => {
  const text = rulesetFor(base);
  assert.match(text, /iifname != \{ "lo", "wg0" \} ct mark & 0xffff0000 == 0x6b730000 counter drop/);
  assert.match(text, /iifname != \{ "lo", "wg0" \} socket cgroupv2 level 1 "unified\/ksapp" counter drop/);
  // Sockets marked by the daemon, whatever their cgroup.
  assert.match(text, /iifname != \{ "lo", "wg0" \} socket mark & 0xffff0000 == 0x6b730000 counter drop/);
});

test('DNS: loopback resolvers refused, others rewritten to the tunnel resolvers', () => {
  const text = rulesetFor({ ...base, dns: { v4: ['10.66.0.1'], v6: ['fd66::1'] } });
  assert.match(text, /ip daddr 127\.0\.0\.0\/8 meta l4proto \{ tcp, udp \} th dport 53 counter drop/);
  assert.match(text, /ip6 daddr ::1 meta l4proto \{ tcp, udp \} th dport 53 counter drop/);
  assert.match(text, /ip daddr != 127\.0\.0\.0\/8 meta l4proto \{ tcp, udp \} th dport 53 dnat ip to 10\.66\.0\.1/);
  assert.match(text, /dnat ip6 to fd66::1/);
  // The same for sockets the daemon marked: by the mark, not the cgroup.
  assert.match(text, /meta mark & 0xffff0000 == 0x6b730000 ip daddr 127\.0\.0\.0\/8 meta l4proto \{ tcp, udp \} th dport 53 counter drop/);
  assert.match(text, /meta mark & 0xffff0000 == 0x6b730000 ip daddr != 127\.0\.0\.0\/8 meta l4proto \{ tcp, udp \} th dport 53 dnat ip to 10\.66\.0\.1/);
});

test('allow-lan keeps DNS protected and lets LAN ranges out directly; block drops all', () => {
  const lan = rulesetFor({ ...base, apps: [app(1, { allowLan: true })] });
  const chain = lan.split('chain app_1 {')[1]!.split('\n  }')[0]!;
  assert.ok(chain.indexOf('th dport 53 jump protect_1') < chain.indexOf('ip daddr @lan4 accept'));
  assert.match(lan, /elements = \{ 10\.0\.0\.0\/8, 172\.16\.0\.0\/12, 192\.168\.0\.0\/16/);
  // Replies of its direct LAN connections come back in (TCP needs them), before the drops of protected traffic.
  const ingress = lan.split('chain ingress {')[1]!;
  assert.ok(ingress.indexOf('ct state established,related ct mark & 0xffff0000 != 0x6b730000 ip6 saddr @lan6 accept') > 0);
  assert.ok(ingress.indexOf('ip saddr @lan4 accept') < ingress.indexOf('counter drop'));
  assert.doesNotMatch(rulesetFor({ ...base, apps: [app(1)] }).split('chain ingress {')[1]!, /@lan4/, 'no allow-lan app: no LAN replies let in');
  const blocked = rulesetFor({ ...base, apps: [app(1, { blocked: true, allowLan: true })] });
  const bchain = blocked.split('chain app_1 {')[1]!.split('\n  }')[0]!;
  assert.match(bchain, /counter name "drop_1" drop/);
  assert.doesNotMatch(bchain, /@lan4/);
});

test('hostile values never reach nft text', () => {
  assert.throws(() => rulesetFor({ ...base, tunnelIface: 'wg0" accept; #' }), /unsafe value/);
  assert.throws(() => rulesetFor({ ...base, dns: { v4: ['1.2.3.4; flush ruleset'], v6: [] } }), /not an IP/);
  assert.throws(() => rulesetFor({ ...base, lan: { v4: ['10.0.0.0/8 }'], v6: [] } }), /not an address range/);
});

test('transactions replace or remove the table atomically', () => {
  assert.match(replaceTransaction(base), /^table inet ksapp\ndelete table inet ksapp\ntable inet ksapp \{/);
  assert.equal(removeTransaction(), 'table inet ksapp\ndelete table inet ksapp\n');
});

test('read-back parses nft JSON (counters and the family\'s chains, other tables ignored) and finds what is missing', () => {
  const counters = JSON.stringify({ nftables: [
    { metainfo: { version: '1.0.6' } },
    { counter: { family: 'inet', table: 'ksapp', name: 'ksapp_format_1', packets: 0, bytes: 0 } },
    { counter: { family: 'inet', table: 'ksapp', name: 'tx_1', packets: 5, bytes: 420 } },
    { counter: { family: 'inet', table: 'ksapp', name: 'drop_1', packets: 2, bytes: 120 } },
  ] });
  const chains = JSON.stringify({ nftables: [
    ...['classify', 'egress', 'egress_protected', 'ingress', 'dns_guard', 'dns_redirect', 'snat_tunnel', 'app_1', 'protect_1', 'app_7']
      .map((name) => ({ chain: { family: 'inet', table: name === 'app_7' ? 'other' : 'ksapp', name } })),
  ] });
  const facts = parseTableJson(counters, chains);
  assert.deepEqual(facts.counters.get('tx_1'), { packets: 5, bytes: 420 });
  assert.equal(facts.chains.has('app_7'), false, 'another table\'s chain is not ours');
  assert.deepEqual(verifyTable(facts, { ...base, apps: [app(1)] }), []);
  assert.match(verifyTable(facts, { ...base, apps: [app(1), app(2)] }).join(';'), /chain app_2 \(app2\) missing.*counter tx_2/);
  assert.match(verifyTable(facts, base).join(';'), /apps no longer protected remain: app_1/);
  assert.match(verifyTable(parseTableJson(chains), base).join(';'), /format marker/);
});

test('the fwmark ip rule is recognised in ip -j rule output', () => {
  assert.equal(hasMarkRule('[{"priority":0,"table":"local"}]'), false);
  assert.equal(hasMarkRule('[{"priority":27507,"src":"all","fwmark":"0x6b730000","fwmask":"0xffff0000","table":"27507"}]'), true);
});

test('whether table inet ksapp exists is read from nft -j list tables, never from an error text', () => {
  const meta = '{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}';
  assert.equal(hasTable(`{"nftables": [${meta}]}`, 'ksapp'), false);
  assert.equal(hasTable(`{"nftables": [${meta}, {"table": {"family": "inet", "name": "ksapp", "handle": 3}}]}`, 'ksapp'), true);
  assert.equal(hasTable(`{"nftables": [${meta}, {"table": {"family": "ip", "name": "ksapp", "handle": 3}}]}`, 'ksapp'), false);
  assert.equal(hasTable('', 'ksapp'), false);
});

test('apps right below the parent are found by one map lookup; groups protected in place keep a rule each, after it', () => {
  const inPlace = app(3, { cgroup: { nftPath: 'unified/system.slice/x.service', level: 2 } });
  const unit = app(4, { cgroup: { nftPath: 'unified/system.slice/y.slice/y.service', level: 3 } });
  const apps = [app(1), app(2), unit, { ...app(5), cgroup: { nftPath: 'unified/ksapp/app5', level: 2 } }];
  const classify = rulesetFor({ ...base, apps: [...apps, inPlace] }).split('chain classify {')[1]!.split('\n  }')[0]!;
  const rules = classify.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('type '));
  // x.service sits at the parent's children's depth but elsewhere: a map keyed by group path holds it too, and only it matches it.
  assert.equal(rules[0], 'socket cgroupv2 level 2 vmap { "unified/ksapp/app1" : goto app_1, "unified/ksapp/app2" : goto app_2, '
    + '"unified/system.slice/x.service" : goto app_3, "unified/ksapp/app5" : goto app_5 }');
  assert.equal(rules[1], 'socket cgroupv2 level 3 "unified/system.slice/y.slice/y.service" goto app_4');
  assert.match(rules[2]!, /^socket cgroupv2 level 1 "unified\/ksapp" meta mark set/);
});

test('two tunnels: each app is marked in its tunnel\'s slot and may leave only through that tunnel', () => {
  const text = rulesetFor({
    ...base, dns: { v4: ['10.66.0.1'], v6: [] },
    tunnels: [{ iface: 'wg1', slot: 1, dns: { v4: ['10.67.0.1'], v6: [] } }],
    apps: [app(1), app(2, { slot: 1 })],
  });
  assert.match(text, /chain protect_2 \{\n\s+meta mark set 0x6b731002 ct mark set meta mark accept/);
  const egress = text.split('chain egress_protected {')[1]!.split('\n  }')[0]!.split('\n').map((l) => l.trim()).filter(Boolean);
  assert.deepEqual(egress, [
    'oifname "lo" accept',
    'oifname "wg0" meta mark vmap { 0x6b730001 : jump tx_1 }',
    'oifname "wg0" meta mark & 0xfffff000 == 0x6b730000 accept',
    'oifname "wg1" meta mark vmap { 0x6b731002 : jump tx_2 }',
    'oifname "wg1" meta mark & 0xfffff000 == 0x6b731000 accept',
    'meta mark vmap { 0x6b730001 : jump dropped_1, 0x6b731002 : jump dropped_2 }',
    'counter name "drop_unknown" drop',
  ]);
  // The second tunnel's apps ask its own resolver, before the primary's rules catch the rest.
  const nat = text.split('chain dns_redirect {')[1]!.split('\n  }')[0]!;
  assert.ok(nat.indexOf('== 0x6b731000 ip daddr != 127.0.0.0/8 meta l4proto { tcp, udp } th dport 53 dnat ip to 10.67.0.1') < nat.indexOf('dnat ip to 10.66.0.1'));
  assert.match(text, /oifname "wg1" masquerade/);
  assert.match(text, /iifname != \{ "lo", "wg0", "wg1" \}/);
  assert.equal(markFor(2, 1), 0x6b731002);
});

test('ip rules: the primary catches every protected mark; another slot only its own, looked at first', () => {
  const rules = (xs: object[]) => JSON.stringify(xs);
  const primary = { priority: 27507, fwmark: '0x6b730000', fwmask: '0xffff0000', table: '27507' };
  const second = { priority: 27506, fwmark: '0x6b731000', fwmask: '0xfffff000', table: '27508' };
  assert.equal(hasMarkRule(rules([primary]), 0), true);
  assert.equal(hasMarkRule(rules([primary]), 1), false);
  assert.equal(hasMarkRule(rules([primary, second]), 1), true);
});

test('multi-hop: the inner tunnel\'s packets to its endpoint may leave only through the outer tunnel', () => {
  const text = rulesetFor({ ...base, hopGuards: [{ inner: 'wg1', outer: 'wg0', endpoints: ['198.18.2.3:51822', '[fd00:2::3]:51822', 'bogus'] }] });
  const chain = text.split('chain hop_guard {')[1]!.split('\n  }')[0]!.split('\n').map((l) => l.trim()).filter(Boolean);
  assert.deepEqual(chain, [
    'type filter hook postrouting priority filter; policy accept;',
    'ip daddr 198.18.2.3 udp dport 51822 oifname != "wg0" counter name "hop_drop" drop',
    'ip6 daddr fd00:2::3 udp dport 51822 oifname != "wg0" counter name "hop_drop" drop',
  ]);
});

test('allowlists: listed ranges go directly (DNS never), also while blocked; their replies may come in', () => {
  const text = rulesetFor({ ...base, allow: { v4: ['10.20.0.0/16'], v6: [] }, apps: [app(1, { allow: { v4: [], v6: ['fd20::/64'] } }), app(2, { blocked: true })] });
  const chain = (name: string): string[] => text.split(`chain ${name} {`)[1]!.split('\n  }')[0]!.split('\n').map((l) => l.trim()).filter(Boolean);
  assert.deepEqual(chain('app_1'), [
    'meta l4proto { tcp, udp } th dport 53 jump protect_1', 'ip daddr @allow4 accept', 'ip6 daddr @allow6_1 accept', 'jump protect_1',
  ]);
  assert.deepEqual(chain('app_2'), [
    'meta l4proto { tcp, udp } th dport 53 counter name "drop_2" drop', 'ip daddr @allow4 accept', 'counter name "drop_2" drop', 'jump protect_2',
  ]);
  assert.match(text, /set allow4 \{ type ipv4_addr; flags interval; elements = \{ 10\.20\.0\.0\/16 \} \}/);
  assert.match(text, /set allow6_1 \{ type ipv6_addr; flags interval; elements = \{ fd20::\/64 \} \}/);
  assert.match(text, /iifname != \{ "lo", "wg0" \} ct state established,related ct mark & 0xffff0000 != 0x6b730000 ip saddr @allow4 accept/);
  assert.match(text, /iifname != \{ "lo", "wg0" \} ct state established,related ct mark & 0xffff0000 != 0x6b730000 ip6 saddr @allow6_1 accept/);
  assert.doesNotMatch(rulesetFor(base), /allow/, 'no allowlist, no trace of one');
});
