import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tunnelAddresses } from '../src/commands/tunnel-check.js';

test('a tun device with no address, or only a link-local one, has no usable address', () => {
  assert.deepEqual(tunnelAddresses('[{"ifname":"tun0","flags":["POINTOPOINT"],"addr_info":[]}]'), []);
  assert.deepEqual(tunnelAddresses('[{"ifname":"tun0","addr_info":[{"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]'), []);
});

test('IPv4 and global IPv6 addresses count', () => {
  const json = JSON.stringify([{ ifname: 'wg0', addr_info: [
    { family: 'inet', local: '10.66.0.2', prefixlen: 24, scope: 'global' },
    { family: 'inet6', local: 'fd66::2', prefixlen: 64, scope: 'global' },
    { family: 'inet6', local: 'fe80::2', prefixlen: 64, scope: 'link' },
  ] }]);
  assert.deepEqual(tunnelAddresses(json), ['10.66.0.2', 'fd66::2']);
  assert.deepEqual(tunnelAddresses(''), []);
});
