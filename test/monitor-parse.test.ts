// Pure parsers of the monitor, on literal output captured on this machine (iproute2 6.1, wg 1.0).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyEvent, classifyTunnel, handshakeHealth, insideAny, isCidr, linkHealth, newestHandshakeAgeMs, parseIpAddrJson,
  parseMonitorLine, parsePingRtt, parseWgDump, pickTunnel, stateFromSnapshot, subscribedInodes, tunnelPrefixes,
  MonitorError, type LinkEvent, type MonitorEvent,
} from '../src/monitor/index.js';

const L = {
  created: '2: kt1: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop state DOWN group default \\    link/none ',
  up: '2: kt1: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc pfifo_fast state UP mode DEFAULT group default qlen 500\\    link/none ',
  noCarrier: '2: kt1: <NO-CARRIER,POINTOPOINT,MULTICAST,NOARP,UP> mtu 1500 qdisc pfifo_fast state DOWN group default \\    link/none ',
  wgUp: '2: wgt1: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1420 qdisc pfifo_fast state UNKNOWN mode DEFAULT group default qlen 500\\    link/none ',
  renamed: '2: kt2: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc pfifo_fast state DOWN group default \\    link/none ',
  deleted: 'Deleted 2: kt2: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop state DOWN group default \\    link/none ',
  veth: '4: ve1@ve2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \\    link/ether 3a:4d:9b:fd:42:aa brd ff:ff:ff:ff:ff:ff',
  addr4: '2: kt1    inet 10.99.0.2/24 scope global kt1\\       valid_lft forever preferred_lft forever',
  addr6tentative: '2: kt1    inet6 fd00:99::2/64 scope global tentative \\       valid_lft forever preferred_lft forever',
  addr6: '2: kt1    inet6 fd00:99::2/64 scope global \\       valid_lft forever preferred_lft forever',
  addr6del: 'Deleted 2: kt1    inet6 fd00:99::2/64 scope global \\       valid_lft forever preferred_lft forever',
  addrPeer: '2: kt1    inet 10.98.0.2 peer 10.98.0.1/32 scope global kt1\\       valid_lft forever preferred_lft forever',
  addrAfterRename: 'Deleted 2: kt1    inet 10.99.0.2/24 scope global kt2\\       valid_lft forever preferred_lft forever',
  lo: '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
  route: '10.98.0.0/16 dev kt1 scope link linkdown ',
  routeDel: 'Deleted 10.98.0.0/16 dev kt1 scope link linkdown ',
  routeLocal: 'local 10.99.0.2 dev kt1 table local proto kernel scope host src 10.99.0.2 ',
  route6: 'Deleted fd00:99::/64 dev kt1 proto kernel metric 256 linkdown pref medium',
  routeDefault: 'default via 10.0.0.1 dev eth0 table 51820 proto static ',
  timestamped: '[2026-11-26T18:05:57.139643] Deleted 2: kt2: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop state DOWN group default \\    link/none ',
};

const link = (line: string): LinkEvent => {
  const e = parseMonitorLine(line);
  assert.equal(e?.kind, 'link');
  return e as LinkEvent;
};

test('link lines: flags, state, up/admin, rename and deletion by ifindex', () => {
  assert.deepEqual(link(L.up), {
    kind: 'link', deleted: false, ifindex: 2, ifname: 'kt1', flags: ['POINTOPOINT', 'MULTICAST', 'NOARP', 'UP', 'LOWER_UP'],
    state: 'UP', adminUp: true, up: true,
  });
  assert.equal(link(L.wgUp).up, true, 'WireGuard reports state UNKNOWN and is up');
  assert.deepEqual([link(L.noCarrier).adminUp, link(L.noCarrier).up], [true, false]);
  assert.deepEqual([link(L.created).adminUp, link(L.created).state], [false, 'DOWN']);
  assert.deepEqual([link(L.renamed).ifindex, link(L.renamed).ifname], [2, 'kt2']);
  assert.deepEqual([link(L.deleted).deleted, link(L.deleted).ifname], [true, 'kt2']);
  assert.equal(link(L.veth).ifname, 've1');
  assert.deepEqual([link(L.timestamped).deleted, link(L.timestamped).ifindex], [true, 2]);
});

test('address lines: family, prefix, peer, scope, tentative, deletion', () => {
  assert.deepEqual(parseMonitorLine(L.addr4), {
    kind: 'addr', deleted: false, ifindex: 2, ifname: 'kt1', family: 'inet', address: '10.99.0.2', prefixlen: 24, scope: 'global', tentative: false,
  });
  assert.equal((parseMonitorLine(L.addr6tentative) as { tentative: boolean }).tentative, true);
  assert.deepEqual(parseMonitorLine(L.addr6del), {
    kind: 'addr', deleted: true, ifindex: 2, ifname: 'kt1', family: 'inet6', address: 'fd00:99::2', prefixlen: 64, scope: 'global', tentative: false,
  });
  assert.deepEqual(parseMonitorLine(L.addrPeer), {
    kind: 'addr', deleted: false, ifindex: 2, ifname: 'kt1', family: 'inet', address: '10.98.0.2', prefixlen: 32, peer: '10.98.0.1', scope: 'global', tentative: false,
  });
  // After a rename ip still prints the old cached name: the ifindex is what counts.
  assert.deepEqual([parseMonitorLine(L.addrAfterRename)?.kind, (parseMonitorLine(L.addrAfterRename) as { ifindex: number }).ifindex], ['addr', 2]);
  assert.equal((parseMonitorLine(L.lo) as { scope: string }).scope, 'host');
});

test('route lines: type, dst, dev, table, family, deletion', () => {
  assert.deepEqual(parseMonitorLine(L.route), {
    kind: 'route', deleted: false, family: 'inet', type: 'unicast', dst: '10.98.0.0/16', table: 'main', linkdown: true, dev: 'kt1',
  });
  assert.equal((parseMonitorLine(L.routeDel) as MonitorEvent).deleted, true);
  assert.deepEqual(parseMonitorLine(L.routeLocal), {
    kind: 'route', deleted: false, family: 'inet', type: 'local', dst: '10.99.0.2', table: 'local', linkdown: false, dev: 'kt1',
  });
  assert.deepEqual(parseMonitorLine(L.route6), {
    kind: 'route', deleted: true, family: 'inet6', type: 'unicast', dst: 'fd00:99::/64', table: 'main', linkdown: true, dev: 'kt1',
  });
  assert.deepEqual(parseMonitorLine(L.routeDefault), {
    kind: 'route', deleted: false, family: 'inet', type: 'unicast', dst: 'default', table: '51820', linkdown: false, dev: 'eth0', via: '10.0.0.1',
  });
});

test('lines it does not understand give null', () => {
  for (const line of ['', '   ', 'Deleted ', 'nsid 0 current', 'garbage here']) assert.equal(parseMonitorLine(line), null, line);
});

const SNAP_JSON = '[{"ifindex":2,"ifname":"kt1","flags":["POINTOPOINT","MULTICAST","NOARP","UP","LOWER_UP"],"mtu":1500,"qdisc":"pfifo_fast","operstate":"UP","group":"default","txqlen":500,"link_type":"none","linkinfo":{"info_kind":"tun","info_data":{"type":"tun","pi":false,"vnet_hdr":false,"multi_queue":false,"persist":true}},"addr_info":[{"family":"inet","local":"10.99.0.2","address":"10.99.0.1","prefixlen":32,"scope":"global","label":"kt1","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fd00::2","prefixlen":64,"scope":"global","nodad":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::f693:da82:f415:5233","prefixlen":64,"scope":"link","stable-privacy":true,"valid_life_time":4294967295,"preferred_life_time":4294967295}]}]';

test('ip -d -j addr show: kind, flags and addresses in one snapshot', () => {
  const [snap] = parseIpAddrJson(SNAP_JSON);
  assert.ok(snap);
  assert.deepEqual([snap.ifindex, snap.ifname, snap.kind, snap.tunType, snap.operstate], [2, 'kt1', 'tun', 'tun', 'UP']);
  assert.deepEqual(snap.addrs[0], { family: 'inet', address: '10.99.0.2', prefixlen: 32, peer: '10.99.0.1', scope: 'global', tentative: false });
  assert.equal(snap.addrs.length, 3);
  assert.deepEqual(parseIpAddrJson('[]'), []);
  assert.throws(() => parseIpAddrJson('not json'), MonitorError);
});

test('link state follows the interface by ifindex through down, rename, address loss and deletion', () => {
  const [snap] = parseIpAddrJson(SNAP_JSON);
  const s = stateFromSnapshot('kt1', snap ?? null);
  assert.deepEqual(linkHealth(s), { healthy: true, reason: 'kt1 up with 2 addresses' }, 'the link-local address does not count');
  const feed = (line: string) => applyEvent(s, parseMonitorLine(line) as MonitorEvent);
  assert.equal(feed(L.noCarrier), 'changed');
  assert.equal(linkHealth(s).reason, 'kt1 has no carrier');
  feed(L.created);
  assert.equal(linkHealth(s).reason, 'kt1 set down');
  feed(L.renamed);
  assert.equal(linkHealth(s).reason, 'kt1 renamed to kt2');
  feed(L.up);
  assert.equal(linkHealth(s).healthy, true, 'renamed back and up');
  feed('Deleted 2: kt1    inet 10.99.0.2 peer 10.99.0.1/32 scope global kt1\\       valid_lft forever preferred_lft forever');
  feed(L.addr6del.replace('fd00:99::2', 'fd00::2'));
  assert.equal(linkHealth(s).reason, 'kt1 lost all its addresses');
  feed(L.addr6tentative);
  assert.equal(linkHealth(s).healthy, false, 'a tentative address is not usable yet');
  feed(L.addr6);
  assert.equal(linkHealth(s).healthy, true);
  assert.equal(feed('7: kt1: <POINTOPOINT,UP,LOWER_UP> mtu 1500 state UNKNOWN'), 'ignored', 'a second kt1 cannot exist while ours does');
  assert.equal(feed(L.addr4.replace('2: kt1', '3: other')), 'ignored', 'addresses of other links are ignored');
  feed('Deleted 2: kt1: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop state DOWN group default \\    link/none ');
  assert.equal(linkHealth(s).reason, 'kt1 deleted');
  assert.equal(feed('5: kt1: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop state DOWN group default \\    link/none '), 'resync',
    'a re-created kt1 (new ifindex) needs a fresh snapshot');
  assert.equal(linkHealth(stateFromSnapshot('kt9', null)).reason, 'kt9 does not exist');
});

const DUMP = [
  '+MPat7jVDAISeWIAe3ZSaQEzU09/uK3ELLDR20RacGk=\tR1lyyTIcWPLX7XSSuR/I7fRnpSCNAEaoBKhl0yZ+amM=\t51999\t0x1234',
  '/nXvz9rSBhKfz8UBcyzNV36rHB8vXPU8BNQqG8Yi5SQ=\t(none)\t127.0.0.1:51888\t10.66.0.0/24\t1790000000\t1200\t3400\t25',
  'FKF0JTeCqggldpmOMJLv5r0imIinL+6Si2z8Uw2f13Y=\t(none)\t(none)\t10.67.0.1/32,fd00::1/128\t0\t0\t0\toff',
  '',
].join('\n');

test('wg show dump: interface without its private key, peers with handshake at column 5', () => {
  const dump = parseWgDump(DUMP);
  assert.equal(JSON.stringify(dump).includes('+MPat7jVD'), false, 'the private key is dropped');
  assert.deepEqual([dump.publicKey, dump.listenPort, dump.fwmark], ['R1lyyTIcWPLX7XSSuR/I7fRnpSCNAEaoBKhl0yZ+amM=', 51999, '0x1234']);
  assert.deepEqual(dump.peers[0], {
    publicKey: '/nXvz9rSBhKfz8UBcyzNV36rHB8vXPU8BNQqG8Yi5SQ=', endpoint: '127.0.0.1:51888', allowedIps: ['10.66.0.0/24'],
    latestHandshake: 1790000000, rxBytes: 1200, txBytes: 3400, keepalive: 25,
  });
  assert.deepEqual([dump.peers[1]?.endpoint, dump.peers[1]?.allowedIps, dump.peers[1]?.keepalive], [null, ['10.67.0.1/32', 'fd00::1/128'], null]);
  assert.equal(newestHandshakeAgeMs(dump, 1790000000_000 + 4_000), 4_000);
  assert.equal(newestHandshakeAgeMs(parseWgDump(DUMP.replace('\t1790000000\t', '\t0\t')), 1790000000_000), null);
  assert.deepEqual(parseWgDump('priv\tpub\t0\toff\n'), { publicKey: 'pub', listenPort: null, fwmark: null, peers: [] });
  assert.throws(() => parseWgDump(''), MonitorError);
  assert.throws(() => parseWgDump('a\tb\tc\td\nshort\tline\n'), MonitorError);
});

test('handshake health: never, stale, fresh, no peers', () => {
  assert.deepEqual(handshakeHealth(null, 2, 180_000), { healthy: false, reason: 'no WireGuard handshake with any peer yet' });
  assert.deepEqual(handshakeHealth(181_000, 1, 180_000), { healthy: false, reason: 'latest WireGuard handshake older than 180 s' });
  assert.equal(handshakeHealth(179_000, 1, 180_000).healthy, true);
  assert.equal(handshakeHealth(null, 0, 180_000).reason, 'WireGuard interface has no peers');
});

test('ping output: RTT of an answer, null without one', () => {
  assert.equal(parsePingRtt('PING 10.66.0.1 (10.66.0.1) from 10.66.0.2 wg0: 56(84) bytes of data.\n64 bytes from 10.66.0.1: icmp_seq=1 ttl=64 time=0.412 ms\n'), 0.412);
  assert.equal(parsePingRtt('1 packets transmitted, 0 received, 100% packet loss, time 0ms\n'), null);
});

test('tunnel detection and kinds', () => {
  assert.equal(pickTunnel(['lo', 'eth0', 'wg0']), 'wg0');
  assert.equal(pickTunnel(['lo', 'tun3']), 'tun3');
  assert.throws(() => pickTunnel(['lo', 'eth0']), (e: MonitorError) => e.code === 'MONITOR_NO_TUNNEL' && /lo, eth0/.test(e.message));
  assert.throws(() => pickTunnel(['wg0', 'tun0', 'eth0']), (e: MonitorError) => e.code === 'MONITOR_MANY_TUNNELS' && /wg0, tun0/.test(e.message));
  const [snap] = parseIpAddrJson(SNAP_JSON);
  assert.ok(snap);
  assert.equal(classifyTunnel(snap, false), 'tun');
  assert.equal(classifyTunnel(snap, true), 'wireguard-go');
  assert.equal(classifyTunnel({ ...snap, tunType: 'tap' }, false), 'tap');
  assert.equal(classifyTunnel({ ...snap, kind: 'wireguard', tunType: null }, false), 'wireguard');
  assert.equal(classifyTunnel({ ...snap, kind: 'veth', tunType: null }, false), null);
  assert.equal(classifyTunnel({ ...snap, kind: null, tunType: null }, true), null);
});

test('tunnel prefixes and probe address checks', () => {
  const [snap] = parseIpAddrJson(SNAP_JSON);
  assert.ok(snap);
  const prefixes = tunnelPrefixes(snap, ['10.66.0.0/24']);
  assert.deepEqual(prefixes, ['10.99.0.2/32', '10.99.0.1/32', 'fd00::2/64', '10.66.0.0/24']);
  assert.equal(insideAny('10.99.0.1', prefixes), true, 'the point-to-point peer');
  assert.equal(insideAny('fd00::1', prefixes), true);
  assert.equal(insideAny('10.66.0.77', prefixes), true);
  assert.equal(insideAny('10.99.0.3', prefixes), false);
  assert.equal(insideAny('192.168.1.1', prefixes), false);
  assert.equal(insideAny('nonsense', prefixes), false);
  assert.equal(insideAny('10.1.2.3', ['10.1.2.200/24']), true, 'a host address with its prefix length names its subnet');
  assert.deepEqual(['10.0.0.0/8', 'fd00::/64', '10.0.0.1', '10.0.0.0/33', 'x/8', '10.0.0.0/8/1'].map(isCidr), [true, true, true, false, false, false]);
});

test('/proc/net/netlink: a route socket that joined groups', () => {
  const table = [
    'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
    '0000000064357a6a 0   4242       00000000 0        0        0     2        0        111     ',
    '00000000e1fff3b9 0   -4134      00000551 0        0        0     2        0        222     ',
    '00000000e1fff3ba 4   0          00000001 0        0        0     2        0        333     ',
  ].join('\n');
  assert.deepEqual([...subscribedInodes(table)], ['222']);
});
