// Forwarded sources (containers, VMs, LAN hosts), pure parts: what a container's runtime and kernel say,
// the interfaces and ranges refused, the command line and requests, and the rules a source gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerRefProblem, parseInspect } from '../src/adopt/container.js';
import { containerSources } from '../src/adopt/container-net.js';
import { parseCommandLine } from '../src/cli/args.js';
import { formatStatus } from '../src/commands/status.js';
import { parseConfig } from '../src/config/index.js';
import { containerRules, parseContainerEvent } from '../src/daemon/container-adopt.js';
import { gatewayName } from '../src/daemon/gateways.js';
import { containerGuard } from '../src/daemon/exec-guarding.js';
import { isHostEntry, rangesOverlap, splitHosts } from '../src/config/hosts.js';
import { dnsWarning, hostsRule, sourceIfaceProblem, sourcesToRenew } from '../src/daemon/protect-forwarded.js';
import { rulesetFor } from '../src/firewall/ruleset.js';
import type { AppStatus } from '../src/ipc/protocol.js';
import { parseRequest } from '../src/ipc/validate.js';
import { step, type App, type World } from '../src/supervisor/index.js';

const ID = 'a'.repeat(64);

test('inspect: a running container\'s id, name, init process and network mode; not running or unknown refused with what to do', () => {
  const running = JSON.stringify([{ Id: ID, Name: '/qb', State: { Running: true, Pid: 4242 }, HostConfig: { NetworkMode: 'bridge' } }]);
  assert.deepEqual(parseInspect('docker', 'qb', running), { ref: { runtime: 'docker', id: ID, name: 'qb' }, pid: 4242, networkMode: 'bridge' });
  const stopped = JSON.stringify([{ Id: ID, Name: 'qb', State: { Running: false, Pid: 0, Status: 'exited' } }]);
  assert.throws(() => parseInspect('podman', 'qb', stopped), /container qb is not running \(exited\)[\s\S]*/);
  assert.throws(() => parseInspect('podman', 'qb', '[]'), /podman knows no container "qb"/);
  assert.equal(containerRefProblem('qb-1.x_y'), undefined);
  assert.match(containerRefProblem('qb;rm') ?? '', /must be a container name or id/);
});

test('a container\'s sources: each link with a peer here, by its bridge (else the veth), its global addresses only', () => {
  const inside = JSON.stringify([
    { ifindex: 1, ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', scope: 'host' }] },
    { ifindex: 2, ifname: 'eth0', link_index: 7, addr_info: [{ family: 'inet', local: '10.89.1.2', scope: 'global' }, { family: 'inet6', local: 'fd89:1::2', scope: 'global' }, { family: 'inet6', local: 'fe80::1', scope: 'link' }] },
    { ifindex: 3, ifname: 'eth1', link_index: 9, addr_info: [{ family: 'inet', local: '10.90.0.5', scope: 'global' }] },
    { ifindex: 4, ifname: 'eth2', link_index: 99, addr_info: [{ family: 'inet', local: '10.91.0.5', scope: 'global' }] },
  ]);
  const here = JSON.stringify([{ ifindex: 7, ifname: 'veth0', master: 'podman1' }, { ifindex: 9, ifname: 'veth1' }]);
  assert.deepEqual(containerSources(inside, here), [
    { iface: 'podman1', v4: ['10.89.1.2/32'], v6: ['fd89:1::2/128'] },
    { iface: 'veth1', v4: ['10.90.0.5/32'], v6: [] },
  ]);
});

test('LAN hosts: addresses, ranges and MACs; IPv4 alone brings all IPv6; overlaps and bad interfaces refused', () => {
  assert.ok(['10.0.0.1', '192.168.1.0/24', 'fd00::/64', 'aa:bb:cc:dd:ee:ff'].every(isHostEntry));
  assert.ok(!['0.0.0.0/0', '10.0.0.1/24', 'AA:BB', 'host.example.com'].some(isHostEntry));
  assert.deepEqual(splitHosts(['10.0.0.2', 'fd00::/64', 'aa:bb:cc:dd:ee:ff']), { v4: ['10.0.0.2/32'], v6: ['fd00::/64'], macs: ['aa:bb:cc:dd:ee:ff'] });
  assert.deepEqual(hostsRule('eth1', ['192.168.1.0/24']), { iface: 'eth1', v4: ['192.168.1.0/24'], v6: [], v6All: true });
  assert.deepEqual(hostsRule('eth1', ['192.168.1.0/24', 'fd00::/64']), { iface: 'eth1', v4: ['192.168.1.0/24'], v6: ['fd00::/64'] });
  assert.deepEqual(hostsRule('eth1', ['aa:bb:cc:dd:ee:ff']), { iface: 'eth1', v4: [], v6: [], macs: ['aa:bb:cc:dd:ee:ff'] }, 'a MAC covers both families');
  assert.equal(rangesOverlap('10.66.0.2/24', '10.66.0.0/16'), true);
  assert.equal(rangesOverlap('10.66.0.2/24', '10.67.0.0/24'), false);
  assert.equal(rangesOverlap('10.66.0.2/24', 'fd66::/64'), false);
  assert.match(sourceIfaceProblem('wg0', ['wg0'], ['eth0']) ?? '', /is a tunnel/);
  assert.match(sourceIfaceProblem('eth0', ['wg0'], ['eth0']) ?? '', /uplink/);
  assert.match(sourceIfaceProblem('lo', [], []) ?? '', /loopback/);
  assert.equal(sourceIfaceProblem('tap0', ['wg0'], ['eth0']), undefined);
});

test('command line and requests: --container, --iface with its VM\'s group, gateway; hostile shapes refused', () => {
  const c = parseCommandLine(['protect', '--container', 'qb']);
  assert.ok(c.kind === 'protect' && c.container === 'qb' && c.onDrop === 'freeze');
  const blockOnly = parseCommandLine(['protect', '--iface', 'tap0']);
  assert.ok(blockOnly.kind === 'protect' && blockOnly.onDrop === 'block', 'no group: blocked');
  const vm = parseCommandLine(['protect', '--iface', 'tap0', '--unit', 'vm.service']);
  assert.ok(vm.kind === 'protect' && vm.onDrop === 'freeze' && vm.unit === 'vm.service');
  assert.throws(() => parseCommandLine(['protect', '--container', 'qb', '--pid', '4']), /exactly one of/);
  assert.throws(() => parseCommandLine(['protect', '--iface', 'a/b']), /--iface must be an interface name/);
  const g = parseCommandLine(['gateway', '--lan', 'eth1', '--host', '192.168.1.0/24', '--host', 'AA:BB:CC:DD:EE:FF']);
  assert.ok(g.kind === 'gateway' && g.name === 'lan-eth1' && g.hosts.join() === '192.168.1.0/24,aa:bb:cc:dd:ee:ff');
  assert.throws(() => parseCommandLine(['gateway']), /--lan IFACE is required/);
  assert.throws(() => parseCommandLine(['gateway', '--lan', 'eth1', '--host', '0.0.0.0/0']), /not an address, a range with no host bits, or a MAC/);
  assert.deepEqual(parseRequest(JSON.stringify({ id: 1, op: 'protect', iface: 'eth1', hosts: ['10.0.0.0/8'] })), { id: 1, op: 'protect', iface: 'eth1', hosts: ['10.0.0.0/8'] });
  for (const bad of [{ container: 'qb', pid: 3 }, { hosts: ['10.0.0.0/8'] }, { iface: 'eth1', hosts: ['nope'] }, { iface: 'eth1', hosts: Array(300).fill('10.0.0.1') }, { container: 7 }]) {
    assert.throws(() => parseRequest(JSON.stringify({ id: 1, op: 'protect', ...bad })), /protect:/, JSON.stringify(bad).slice(0, 60));
  }
});

test('ruleset: a forwarded source is marked as it comes in, its DNS sent to the tunnel\'s resolver, new connections to it only from the tunnel', () => {
  const text = rulesetFor({
    tunnelIface: 'wg0', parent: { nftPath: 'unified/ksapp', level: 1 }, dns: { v4: ['10.66.0.1'], v6: [] }, lan: { v4: [], v6: [] },
    apps: [
      { id: 2, name: 'c', cgroup: { nftPath: 'unified/c', level: 1 }, allowLan: false, blocked: false, forwarded: [{ iface: 'podman1', v4: ['10.89.1.2/32'], v6: ['fd89:1::2/128'] }] },
      { id: 3, name: 'lan', cgroup: { nftPath: 'unified/ksapp/lan', level: 2 }, allowLan: false, blocked: true, forwarded: [{ iface: 'eth1', v4: ['192.168.1.0/24'], v6: [], v6All: true }] },
    ],
  });
  const chain = (name: string): string => text.slice(text.indexOf(`chain ${name} {`), text.indexOf('\n  }', text.indexOf(`chain ${name} {`)));
  // One map lookup per kind of key, whatever the number of sources; the specific kinds first.
  assert.match(chain('classify_forwarded'), new RegExp([
    'iifname \\. ip saddr vmap \\{ "podman1" \\. 10\\.89\\.1\\.2/32 : goto fwd_2, "eth1" \\. 192\\.168\\.1\\.0/24 : goto fwd_3 \\}',
    'iifname \\. ip6 saddr vmap \\{ "podman1" \\. fd89:1::2/128 : goto fwd_2 \\}',
    'iifname \\. meta nfproto vmap \\{ "eth1" \\. ipv6 : goto fwd_3 \\}',
  ].join('\\n\\s+')));
  assert.match(chain('fwd_2'), /meta mark set 0x6b730002 ct mark set meta mark accept/);
  assert.match(chain('fwd_3'), /counter name "drop_3" drop/, 'blocked: dropped as it comes in');
  assert.match(chain('dns_forwarded'), /iifname "podman1" ip saddr \{ 10\.89\.1\.2\/32 \} meta nfproto ipv4 meta l4proto \{ tcp, udp \} th dport 53 dnat ip to 10\.66\.0\.1/);
  assert.match(chain('inbound_forwarded'), /oifname "podman1" ip daddr \{ 10\.89\.1\.2\/32 \} ct state new iifname != \{ "wg0" \} counter name "drop_2" drop/);
  assert.match(chain('unmark_forwarded'), /iifname \{ "wg0" \} meta mark & 0xffff0000 == 0x6b730000 fib daddr type != local meta mark set 0x00000000/);
  assert.match(chain('egress_protected'), /iifname \{ "wg0" \} accept/);
  assert.doesNotMatch(rulesetFor({ tunnelIface: 'wg0', parent: { nftPath: 'unified/ksapp', level: 1 }, dns: { v4: [], v6: [] }, lan: { v4: [], v6: [] }, apps: [] }), /forwarded|67, 547/, 'no source, no trace');
  assert.throws(() => rulesetFor({ tunnelIface: 'wg0', parent: { nftPath: 'unified/ksapp', level: 1 }, dns: { v4: [], v6: [] }, lan: { v4: [], v6: [] },
    apps: [{ id: 2, name: 'x', cgroup: { nftPath: 'unified/x', level: 1 }, allowLan: false, blocked: false, forwarded: [{ iface: 'eth1', v4: [], v6: [], macs: ['zz; drop'] }] }] }), /not a MAC address/);
});

test('container rules: the config takes `match: { container }` alone; runtime events of both shapes are read', () => {
  const c = parseConfig('apps:\n  - { name: qb, match: { container: qbittorrent } }\n');
  assert.deepEqual(c.apps[0]?.match, { container: 'qbittorrent' });
  assert.deepEqual(containerRules(c.apps).map((a) => a.name), ['qb']);
  assert.throws(() => parseConfig('apps:\n  - { name: qb, match: { container: qb, user: alice } }\n'), /stands alone: a container is protected as a whole/);
  assert.throws(() => parseConfig('apps:\n  - { name: qb, match: { container: "a b" } }\n'), /must be a container name or id/);
  assert.deepEqual(parseContainerEvent(JSON.stringify({ ID: ID, Name: 'qb', Status: 'start', Type: 'container' })), { action: 'start', name: 'qb', id: ID });
  assert.deepEqual(parseContainerEvent(JSON.stringify({ status: 'start', id: ID, Type: 'container', Action: 'start', Actor: { ID: ID, Attributes: { name: 'qb' } } })),
    { action: 'start', name: 'qb', id: ID });
  assert.equal(parseContainerEvent('not json'), undefined);
  assert.match(containerGuard(c.apps[0]!).why ?? '', /protected once its runtime reports its start: until then .* it runs unprotected/);
});

test('config gateway: a LAN interface and its hosts, named lan-IFACE unless named; bad entries refused with their field', () => {
  const c = parseConfig('gateway:\n  - { lan: eth1, hosts: [192.168.1.0/24, "AA:BB:CC:DD:EE:FF"] }\n  - { lan: br-lan, name: home }\n');
  assert.deepEqual(c.gateway, [{ lan: 'eth1', hosts: ['192.168.1.0/24', 'AA:BB:CC:DD:EE:FF'] }, { lan: 'br-lan', hosts: [], name: 'home' }]);
  assert.deepEqual(c.gateway.map(gatewayName), ['lan-eth1', 'home']);
  assert.throws(() => parseConfig('gateway:\n  - { hosts: [10.0.0.0/8] }\n'), /gateway\[0\]\.lan is required|gateway\[0\] .*lan/);
  assert.throws(() => parseConfig('gateway:\n  - { lan: eth1, hosts: [0.0.0.0/0] }\n'), /gateway\[0\]\.hosts\[0\] must be an address, a range with no host bits, or a MAC/);
  assert.throws(() => parseConfig('gateway:\n  - { lan: "a/b" }\n'), /gateway\[0\]\.lan must be an interface name/);
});

test('config gateway: one mapping stands for a list of one, as the design\'s example writes it', () => {
  const c = parseConfig('gateway: { lan: eth1, hosts: [192.168.50.0/24] }\n');
  assert.deepEqual(c.gateway, [{ lan: 'eth1', hosts: ['192.168.50.0/24'] }]);
  assert.throws(() => parseConfig('gateway: eth1\n'), /gateway must be a mapping or a list of them/);
});

test('ksapp status (text): what an app reaches directly, names with their addresses now, and what it routes for', () => {
  const app = (over: Partial<AppStatus>): AppStatus => ({
    name: 'qb', state: 'running', policy: 'freeze', pids: [], cgroup: '/cg/qb', packets: { tunnel: 0, dropped: 0 }, bytes: { tunnel: 0 },
    uid: 0, user: 'root', allowLan: false, restart: false, origin: 'adopted', since: '2026-11-30T00:00:00.000Z', ...over,
  });
  const text = formatStatus({
    tunnel: { interface: 'wg0', state: 'up', since: 'x', reason: 'ok', handshakeAgeMs: null, probeRttMs: null, lastReactionMs: null },
    apps: [
      app({ allow: ['10.20.0.0/16', 'lic.example.net', 'gone.example.net'], allowNames: [{ name: 'lic.example.net', addresses: [{ address: '192.0.2.5', expiresAt: 'x' }] }, { name: 'gone.example.net', addresses: [] }] }),
      app({ name: 'dl', kind: 'container', container: { runtime: 'podman', id: ID, name: 'downloads' }, forwarded: [{ iface: 'podman1', v4: ['10.89.1.2/32'], v6: [] }] }),
      app({ name: 'office', kind: 'lan', forwarded: [{ iface: 'eth1', v4: [], v6: [], macs: ['aa:bb:cc:dd:ee:ff'] }] }),
    ],
    daemon: { pid: 1, startedAt: 'x', socket: 's' }, config: { file: null, error: null }, events: [],
  });
  assert.match(text, /qb reaches directly, outside the tunnel: 10\.20\.0\.0\/16, lic\.example\.net \(192\.0\.2\.5\), gone\.example\.net \(no address now\)/);
  assert.match(text, /dl \(podman container downloads\) routes through the tunnel: 10\.89\.1\.2\/32 on podman1/);
  assert.match(text, /office routes through the tunnel: aa:bb:cc:dd:ee:ff on eth1/);
});

test('machine: releasing a forwarded source forgets its flows by mark, so they start afresh by the main table', () => {
  const app: App = {
    name: 'lan', id: 5, onDrop: 'block', allowLan: false, restart: false, uid: 0, origin: 'adopted', addedAt: 0, tunnels: ['wg0'], rides: 'wg0', failback: true,
    state: 'running', blocked: false, manualFreeze: false, cgroup: { path: '/sys/fs/cgroup/ksapp/lan' } as App['cgroup'], forwarded: [{ iface: 'eth1', v4: ['10.0.0.0/24'], v6: [] }],
  };
  const world: World = {
    primary: 'wg0', tunnels: new Map([['wg0', { state: 'up', since: 0, reason: '', slot: 0, dns: { v4: [], v6: [] } }]]),
    apps: new Map([['lan', app]]), dns: { v4: [], v6: [] }, lan: { v4: [], v6: [] },
  };
  const s = step(world, { type: 'remove', name: 'lan' });
  assert.deepEqual(s.actions.map((a) => a.type), ['drop-group', 'sync', 'forget-flows', 'log']);
  assert.deepEqual(s.actions.find((a) => a.type === 'forget-flows'), { type: 'forget-flows', marks: [0x6b730005] });
  const plain = step({ ...world, apps: new Map([['lan', { ...app, forwarded: undefined }]]) } as World, { type: 'remove', name: 'lan' });
  assert.ok(!plain.actions.some((a) => a.type === 'forget-flows'), 'an app of processes keeps its flows (its sockets go with it)');
});

test('renewing a source\'s flows: single hosts as they are, a range\'s hosts among the tracked flows, a MAC\'s among the neighbours', () => {
  const list = [
    'tcp      6 431999 ESTABLISHED src=192.168.1.7 dst=198.51.100.1 sport=40000 dport=443 src=198.51.100.1 dst=198.18.1.2 sport=443 dport=40000 [ASSURED] mark=0 use=1',
    'udp      17 29 src=192.168.2.9 dst=198.51.100.1 sport=5000 dport=53 [UNREPLIED] src=198.51.100.1 dst=192.168.2.9 sport=53 dport=5000 mark=0 use=1',
    'udp      17 29 src=fd00:1::7 dst=fd00:3::2 sport=5000 dport=7000 src=fd00:3::2 dst=fd00:1::7 sport=7000 dport=5000 mark=0 use=1',
  ].join('\n');
  const neigh = JSON.stringify([{ dst: '192.168.3.4', dev: 'eth2', lladdr: 'AA:BB:CC:DD:EE:FF' }, { dst: '192.168.3.5', lladdr: '02:00:00:00:00:01' }]);
  assert.deepEqual(sourcesToRenew([
    { iface: 'eth1', v4: ['10.0.0.2/32', '192.168.1.0/24'], v6: ['fd00:1::/64'] },
    { iface: 'eth2', v4: [], v6: [], macs: ['aa:bb:cc:dd:ee:ff'] },
  ], list, ['[]', neigh]), ['10.0.0.2', '192.168.1.7', 'fd00:1::7', '192.168.3.4']);
});

test('a forwarded source in a tunnel without a resolver is told what becomes of its DNS', () => {
  assert.equal(dnsWarning('wg0', { v4: ['10.66.0.1'] }), '');
  assert.match(dnsWarning('wg0', { v4: [] }), /tunnel wg0 has no resolver \(dns\.servers, or its tunnels\[\]\.dns\): lookups to a local resolver .* are dropped/);
});

test('ruleset: a forwarded source on a tunnel without resolvers of its own has its DNS sent to the primary\'s, as an app\'s is', () => {
  const text = rulesetFor({
    tunnelIface: 'wg0', tunnels: [{ iface: 'wg1', slot: 1, dns: { v4: [], v6: [] } }], parent: { nftPath: 'unified/ksapp', level: 1 },
    dns: { v4: ['10.66.0.1'], v6: [] }, lan: { v4: [], v6: [] },
    apps: [{ id: 2, name: 'c', slot: 1, cgroup: { nftPath: 'unified/c', level: 1 }, allowLan: false, blocked: false, forwarded: [{ iface: 'podman1', v4: ['10.89.1.2/32'], v6: [] }] }],
  });
  assert.match(text, /iifname "podman1" ip saddr \{ 10\.89\.1\.2\/32 \} meta nfproto ipv4 meta l4proto \{ tcp, udp \} th dport 53 dnat ip to 10\.66\.0\.1/);
});
