// The in-process netlink link source: pure decoding on literal addon objects, then the real
// kernel in a network namespace this test creates (a veth pair: it has a carrier without a
// helper process), with the source running in a child entered into that namespace.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { runTool } from '../src/tools.js';
import { applyEvent, linkHealth, stateFromSnapshot } from '../src/monitor/link-state.js';
import { applyToTable, decodeEvent, routeConcerns, snapshotOf, type LinkTable, type RawAddr, type RawLink, type RawRoute } from '../src/monitor/netlink-decode.js';
import { NetlinkSource } from '../src/monitor/netlink-source.js';

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
