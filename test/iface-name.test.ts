// The one interface-name rule, and what it says when a provider's VPN config is given instead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine } from '../src/cli/args.js';
import { ifaceNameProblem } from '../src/iface-name.js';

test('a wg-quick config or an OpenVPN profile where an interface is meant: which interface it makes, and how to bring it up', () => {
  for (const ok of ['wg0', 'tun0', 'kc1a2b3c', 'wg.home', 'proton@nl']) assert.equal(ifaceNameProblem(ok), undefined, ok);
  assert.match(ifaceNameProblem('/etc/wireguard/wg0.conf')!, /wg-quick config: it makes the interface "wg0" — bring it up with `wg-quick up \/etc\/wireguard\/wg0.conf`, then name wg0/);
  assert.match(ifaceNameProblem('wg1.conf')!, /makes the interface "wg1"/);
  assert.match(ifaceNameProblem('nl-free.ovpn')!, /OpenVPN profile: its `dev` line names the tun device .* give the tunnel a probe/);
  assert.doesNotMatch(ifaceNameProblem('a b')!, /wg-quick|OpenVPN/);
  assert.throws(() => parseCommandLine(['run', '--tunnel', 'wg0,/etc/wireguard/wg1.conf', '--', 'true'], {}), /makes the interface "wg1"/);
});
