// Allowlisted host names, pure parts and the watcher with a scripted resolver: entries, the machine's
// merging of answers as records live and die, the timed sets in the ruleset, what is saved, when to ask again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowFilters } from '../src/adopt/renew-flows.js';
import type { SsSocket } from '../src/adopt/ss.js';
import { hostName, isAllowEntry, splitAllow } from '../src/config/allow.js';
import { AllowNameWatch, answerFrom, configNames, MIN_LIFE_MS, nextLookupIn, NO_RECORD_RETRY_MS, type Records } from '../src/daemon/allow-names.js';
import { savedAppProblem } from '../src/daemon/state-check.js';
import { rulesetFor } from '../src/firewall/ruleset.js';
import { liveAddresses, mergeAnswer } from '../src/supervisor/allow-names.js';
import { step, type App, type World } from '../src/supervisor/index.js';
import { policyFor } from '../src/supervisor/kernel-effects.js';
import { reconcile, saveApp } from '../src/supervisor/reconcile.js';

test('entries: names are kept lower case without the root dot; addresses, ranges and whole families are told apart', () => {
  assert.equal(hostName('Intranet.Example.COM.'), 'intranet.example.com');
  for (const bad of ['printer', 'a_b.example.com', '-a.example.com', 'a.example.com-', '10.1.2.3', '1.2', `${'a'.repeat(64)}.com`]) assert.equal(hostName(bad), undefined, bad);
  assert.deepEqual(splitAllow(['10.0.0.0/8', 'fd00::/8', 'A.example.com', 'a.example.com.']), { v4: ['10.0.0.0/8'], v6: ['fd00::/8'], names: ['a.example.com'] });
  assert.equal(isAllowEntry('10.0.0.0/8'), true);
  assert.equal(isAllowEntry('0.0.0.0/0'), false, 'a whole family is no allowlist');
  assert.equal(isAllowEntry('10.0.0.1/8'), false, 'host bits set');
  assert.equal(isAllowEntry('x.example.com'), true);
  assert.deepEqual(configNames({ allow: ['a.example.com', '10.0.0.0/8'], apps: [{ allow: ['b.example.com', 'a.example.com'] }, {}] }), ['a.example.com', 'b.example.com']);
});

const v4 = (address: string, ttl: number): Records => ({ v4: [{ address, ttl }], v6: [] });

test('answers: each address until its record expires (never under the floor); asked again at three quarters of the shortest life', () => {
  const a = answerFrom({ v4: [{ address: '192.0.2.1', ttl: 60 }, { address: '192.0.2.2', ttl: 0 }], v6: [{ address: 'fd00::1', ttl: 120 }] }, 1000);
  assert.deepEqual(a, { v4: [{ addr: '192.0.2.1', expiresAt: 61_000 }, { addr: '192.0.2.2', expiresAt: 1000 + MIN_LIFE_MS }], v6: [{ addr: 'fd00::1', expiresAt: 121_000 }] });
  assert.equal(nextLookupIn(a, 1000, 0), Math.floor(0.75 * MIN_LIFE_MS));
  assert.equal(nextLookupIn(answerFrom(v4('192.0.2.1', 300), 0), 0, 0), 225_000);
  assert.equal(nextLookupIn({ v4: [], v6: [] }, 0, 0), NO_RECORD_RETRY_MS, 'no record: asked again later');
  assert.deepEqual([1, 2, 3, 10].map((f) => nextLookupIn(undefined, 0, f)), [1000, 2000, 4000, 30_000], 'a failed lookup backs off');
});

test('merging: a new answer renews; an address it no longer holds lives until its own record expires; expired ones are not loaded', () => {
  const first = mergeAnswer(undefined, { v4: [{ addr: '192.0.2.1', expiresAt: 10_000 }], v6: [] }, 0);
  const moved = mergeAnswer(first, { v4: [{ addr: '192.0.2.9', expiresAt: 20_000 }], v6: [] }, 5000);
  assert.deepEqual(moved.v4, [{ addr: '192.0.2.1', expiresAt: 10_000 }, { addr: '192.0.2.9', expiresAt: 20_000 }]);
  assert.deepEqual(mergeAnswer(moved, { v4: [], v6: [] }, 12_000).v4, [{ addr: '192.0.2.9', expiresAt: 20_000 }], 'the old record has expired');
  const w = { resolved: new Map([['a.example.com', moved], ['b.example.com', { v4: [{ addr: '192.0.2.9', expiresAt: 30_000 }], v6: [] }]]) };
  assert.deepEqual(liveAddresses(w, ['a.example.com', 'b.example.com'], 12_000), { v4: [{ addr: '192.0.2.9', timeoutMs: 18_000 }], v6: [] }, 'once, with its longest life');
  assert.deepEqual(liveAddresses(w, ['a.example.com'], 25_000), { v4: [], v6: [] });
});

function app(name: string, over: Partial<App> = {}): App {
  return {
    name, id: 1, onDrop: 'freeze', allowLan: false, restart: false, uid: 0, origin: 'config', addedAt: 0, tunnels: ['wg0'], rides: 'wg0', failback: true,
    state: 'running', blocked: false, manualFreeze: false, cgroup: { path: `/sys/fs/cgroup/ksapp/${name}` } as App['cgroup'], ...over,
  };
}

function world(apps: App[], allow?: World['allow']): World {
  return {
    primary: 'wg0', tunnels: new Map([['wg0', { state: 'up', since: 0, reason: '', slot: 0, dns: { v4: [], v6: [] } }]]),
    apps: new Map(apps.map((a) => [a.name, a])), dns: { v4: [], v6: [] }, lan: { v4: [], v6: [] }, ...(allow ? { allow } : {}),
  };
}

test('machine: an answer for a name in use reloads the rules; an unchanged one does nothing; an app takes a reloaded allowlist', () => {
  const own = { v4: [], v6: [], names: ['lic.example.net'] };
  let w = world([app('qb', { allow: own })], { v4: ['10.0.0.0/8'], v6: [], names: ['intra.example.com'] });
  const answer = { v4: [{ addr: '192.0.2.5', expiresAt: 50_000 }], v6: [] };
  let s = step(w, { type: 'resolved', name: 'lic.example.net', answer, at: 0 });
  assert.deepEqual(s.actions, [{ type: 'sync' }, { type: 'renew-flows', names: ['qb'] }], 'a new address: the app\'s flows are renewed');
  assert.deepEqual(step(s.world, { type: 'resolved', name: 'lic.example.net', answer: { v4: [{ addr: '192.0.2.5', expiresAt: 90_000 }], v6: [] }, at: 40_000 }).actions,
    [{ type: 'sync' }], 'renewed only: loaded with its new life, flows untouched');
  w = s.world;
  assert.deepEqual(step(w, { type: 'resolved', name: 'lic.example.net', answer, at: 1000 }).actions, [], 'the same answer again');
  assert.deepEqual(step(w, { type: 'resolved', name: 'other.example.org', answer, at: 0 }).actions, [], 'a name nobody uses loads nothing');
  // The policy carries the address, for the app that names it only, with its remaining life.
  const policy = policyFor(w, '/sys/fs/cgroup', '/sys/fs/cgroup/ksapp', 20_000);
  assert.deepEqual(policy.apps[0]?.allowNamed, { v4: [{ addr: '192.0.2.5', timeoutMs: 30_000 }], v6: [] });
  assert.deepEqual(policy.allowNamed, { v4: [], v6: [] }, 'the shared name has no answer yet');
  assert.deepEqual(policy.allow, { v4: ['10.0.0.0/8'], v6: [] });
  // A reload that drops the app's list: the rules lose it.
  s = step(w, { type: 'app-allow', name: 'qb', allow: { v4: [], v6: [], names: [] } });
  assert.equal(s.world.apps.get('qb')?.allow, undefined);
  assert.deepEqual(s.actions.map((a) => a.type), ['sync', 'renew-flows', 'log'], 'its flows take their new path afresh');
  assert.deepEqual(step(s.world, { type: 'app-allow', name: 'qb', allow: { v4: [], v6: [], names: [] } }).actions, [], 'unchanged');
});

test('renewing flows: each socket\'s conntrack filter by local endpoint, a wildcard one by port in each family it sends', () => {
  const sock = (netid: 'tcp' | 'udp', family: 4 | 6, addr: string, port: number): SsSocket => ({ netid, family, state: 'ESTAB', local: { addr, port }, peer: { addr: '*', port: 0 }, inode: 1 });
  assert.deepEqual(flowFilters([sock('tcp', 4, '10.0.0.2', 4000), sock('udp', 6, '*', 5000), sock('udp', 4, '0.0.0.0', 6000), sock('udp', 4, '0.0.0.0', 6000), sock('tcp', 4, '10.0.0.2', 0)]), [
    ['-D', '-f', 'ipv4', '-p', 'tcp', '--orig-src', '10.0.0.2', '--orig-port-src', '4000'],
    ['-D', '-f', 'ipv4', '-p', 'udp', '--orig-port-src', '5000'],
    ['-D', '-f', 'ipv6', '-p', 'udp', '--orig-port-src', '5000'],
    ['-D', '-f', 'ipv4', '-p', 'udp', '--orig-port-src', '6000'],
  ]);
});

test('ruleset: resolved names are timed sets, matched like ranges (DNS never), with their replies let in', () => {
  const base = {
    tunnelIface: 'wg0', parent: { nftPath: 'unified/ksapp', level: 1 }, dns: { v4: [], v6: [] }, lan: { v4: [], v6: [] },
    allowNamed: { v4: [{ addr: '192.0.2.5', timeoutMs: 29_999.2 }], v6: [] },
    apps: [{ id: 3, name: 'qb', cgroup: { nftPath: 'unified/ksapp/qb', level: 2 }, allowLan: false, blocked: true, allowNamed: { v4: [], v6: [{ addr: 'fd00::5', timeoutMs: 5000 }] } }],
  };
  const text = rulesetFor(base);
  assert.match(text, /set allowname4 \{ type ipv4_addr; flags timeout; elements = \{ 192\.0\.2\.5 timeout 30000ms \} \}/);
  assert.match(text, /set allowname6 \{ type ipv6_addr; flags timeout; \}/);
  assert.match(text, /set allowname6_3 \{ type ipv6_addr; flags timeout; elements = \{ fd00::5 timeout 5000ms \} \}/);
  const chain = text.slice(text.indexOf('chain app_3 {'), text.indexOf('chain protect_3'));
  assert.match(chain, /th dport 53 counter name "drop_3" drop\n\s+ip daddr @allowname4 accept\n\s+ip6 daddr @allowname6 accept\n\s+ip daddr @allowname4_3 accept\n\s+ip6 daddr @allowname6_3 accept\n\s+counter name "drop_3" drop/);
  assert.match(text, /ct state established,related ct mark & 0xffff0000 != 0x6b730000 ip6 saddr @allowname6_3 accept/);
  assert.throws(() => rulesetFor({ ...base, allowNamed: { v4: [{ addr: '1.2.3.4; drop', timeoutMs: 1 }], v6: [] } }), /not an IP address/);
});

test('saved state: an app keeps its own allowlist across a daemon restart; a tampered one is dropped', () => {
  const a = app('qb', { allow: { v4: ['10.0.0.0/8'], v6: [], names: ['lic.example.net'] } });
  const saved = saveApp(a, 'wg0');
  assert.deepEqual(saved.allow, ['10.0.0.0/8', 'lic.example.net']);
  const bounds = { cgroupRoot: '/cg', parentPath: '/cg/ksapp' };
  assert.equal(savedAppProblem(saved, bounds), undefined);
  for (const allow of [['0.0.0.0/0'], ['x;y'], 'lic.example.net', [7]]) assert.match(savedAppProblem({ ...saved, allow }, bounds) ?? '', /allow is not a list/, JSON.stringify(allow));
  const { keep } = reconcile([{ cgroup: a.cgroup, populated: true, frozen: false }], [saved], 'wg0');
  assert.deepEqual(keep[0]?.allow, a.allow);
  assert.equal(saveApp(app('x'), 'wg0').allow, undefined, 'nothing saved when there is none');
});

test('watcher: every name looked up at once, answers delivered, a failure logged once and nothing delivered, dropped names forgotten', async () => {
  const asked: string[] = [];
  const delivered: string[] = [];
  const logged: string[] = [];
  const lookup = async (name: string): Promise<Records> => {
    asked.push(name);
    if (name === 'down.example.com') throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
    return name === 'none.example.com' ? { v4: [], v6: [] } : v4('192.0.2.7', 60);
  };
  const watch = new AllowNameWatch(async (name, answer) => { delivered.push(`${name} ${answer.v4.map((x) => x.addr).join()}`); }, (e) => logged.push(e.detail ?? ''), lookup);
  try {
    watch.watch(['a.example.com', 'down.example.com', 'none.example.com']);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(asked.sort(), ['a.example.com', 'down.example.com', 'none.example.com']);
    assert.deepEqual(delivered.sort(), ['a.example.com 192.0.2.7', 'none.example.com ']);
    assert.ok(logged.some((l) => /a\.example\.com → 192\.0\.2\.7/.test(l)), logged.join('\n'));
    assert.ok(logged.some((l) => /down\.example\.com: lookup failed \(ETIMEOUT\); its addresses stay allowed until their records expire/.test(l)), logged.join('\n'));
    assert.ok(logged.some((l) => /none\.example\.com: no address record/.test(l)), logged.join('\n'));
    watch.watch(['a.example.com']);
    asked.length = 0;
    watch.watch(['a.example.com', 'b.example.com']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(asked, ['b.example.com'], 'only the new name is looked up');
  } finally {
    watch.stop();
  }
});
