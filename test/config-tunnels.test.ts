import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, type TunnelConfig } from '../src/config/index.js';

/** The formatted issues parseConfig throws for `text`; fails the test when it parses. */
function problems(text: string): string[] {
  try {
    parseConfig(text, 'config.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return error.message.split('\n').slice(1).map((line) => line.trim());
  }
  assert.fail('expected the config to be rejected');
}

/** The single problem of `text`. */
function problem(text: string): string {
  const all = problems(text);
  assert.equal(all.length, 1, all.join('\n'));
  return all[0] ?? '';
}

const DEFAULTS = { handshakeTimeout: 180_000, holdDown: 250, maxHoldDown: 30_000 };

describe('parseConfig: the tunnels a daemon watches', () => {
  test('tunnel alone is the only tunnel, the very same object', () => {
    const config = parseConfig('tunnel:\n  interface: wg0\n  probe: { address: 10.66.0.1 }\n');
    const wg0: TunnelConfig = { interface: 'wg0', ...DEFAULTS, probe: { address: '10.66.0.1', interval: 500, failures: 3 } };
    assert.deepEqual(config.tunnel, wg0);
    assert.deepEqual(config.tunnels, [wg0]);
    assert.equal(config.tunnels[0], config.tunnel);
  });

  test('no tunnel at all: one auto-detected tunnel with defaults', () => {
    for (const text of ['', 'tunnel:\n', 'apps: []\n']) {
      const config = parseConfig(text);
      assert.deepEqual(config.tunnels, [DEFAULTS], JSON.stringify(text));
      assert.equal(config.tunnels[0], config.tunnel);
    }
  });

  test('tunnels alone: the first is the primary; every new key with its defaults', () => {
    const config = parseConfig(`tunnels:
  - interface: wg0
    probe: { address: 10.66.0.1 }
    reconnect: { command: [wg-quick, up, wg0] }
  - interface: wg1
    via: wg0
    dns: [10.67.0.1, "fd00::53"]
    reconnect: { command: [/usr/bin/up, 1, true], every: 2s, timeout: 1m }
`);
    assert.deepEqual(config.tunnels, [
      { interface: 'wg0', ...DEFAULTS, probe: { address: '10.66.0.1', interval: 500, failures: 3 }, reconnect: { command: ['wg-quick', 'up', 'wg0'], every: 10_000, timeout: 30_000 } },
      { interface: 'wg1', ...DEFAULTS, via: 'wg0', dns: ['10.67.0.1', 'fd00::53'], reconnect: { command: ['/usr/bin/up', '1', 'true'], every: 2000, timeout: 60_000 } },
    ]);
    assert.equal(config.tunnel, config.tunnels[0]);
  });

  test('tunnel and tunnels together: tunnel is the primary, put before the list', () => {
    const config = parseConfig('tunnels:\n  - { interface: wg1, via: wg0 }\n  - { interface: wg2 }\ntunnel: { interface: wg0, holdDown: 1s }\n');
    assert.deepEqual(config.tunnels.map((t) => t.interface), ['wg0', 'wg1', 'wg2']);
    assert.equal(config.tunnel, config.tunnels[0]);
    assert.equal(config.tunnel.holdDown, 1000);
  });

  test('the primary may be auto-detected next to listed tunnels; only it may lack an interface', () => {
    const config = parseConfig('tunnel: { handshakeTimeout: 1m }\ntunnels: [{ interface: wg1 }]\n');
    assert.deepEqual(config.tunnels, [{ ...DEFAULTS, handshakeTimeout: 60_000 }, { interface: 'wg1', ...DEFAULTS }]);
  });

  test('via: a chain of hops and the primary behind another tunnel are fine', () => {
    const config = parseConfig('tunnel: { interface: wg3, via: wg2 }\ntunnels:\n  - { interface: wg2, via: wg1 }\n  - { interface: wg1 }\n');
    assert.deepEqual(config.tunnels.map((t) => [t.interface, t.via]), [['wg3', 'wg2'], ['wg2', 'wg1'], ['wg1', undefined]]);
  });
});

describe('parseConfig: apps[].tunnel and apps[].failback', () => {
  test('a name or a failover order, always a list; failback defaults to true; unconfigured tunnels allowed', () => {
    const config = parseConfig(`tunnels: [{ interface: wg0 }, { interface: wg1 }]
apps:
  - { name: a, command: [a] }
  - { name: b, command: [b], tunnel: wg1 }
  - { name: c, command: [c], tunnel: [wg0, wg1], failback: false }
  - { name: d, command: [d], tunnel: [tun7] }
`);
    assert.deepEqual(config.apps.map((a) => [a.name, a.tunnel, a.failback]), [
      ['a', undefined, true],
      ['b', ['wg1'], true],
      ['c', ['wg0', 'wg1'], false],
      ['d', ['tun7'], true],
    ]);
    assert.equal('tunnel' in (config.apps[0] ?? {}), false);
  });

  test('a duplicate, an empty list, a bad name, a mapping, a number and a non-boolean failback', () => {
    assert.deepEqual(problems(`apps:
  - { name: a, command: [a], tunnel: [wg0, wg1, wg0] }
  - { name: b, command: [b], tunnel: [] }
  - { name: c, command: [c], tunnel: [wg0, "wg 1"] }
  - { name: d, command: [d], tunnel: "wireguard-tunnel0" }
  - { name: e, command: [e], tunnel: { name: wg0 } }
  - { name: f, command: [f], tunnel: 0, failback: yes }
`), [
      'config.yaml:2:49: apps[0].tunnel[2] repeats [0] (got "wg0"); a failover order names each tunnel once',
      'config.yaml:3:38: apps[1].tunnel must have at least 1 item',
      'config.yaml:4:44: apps[2].tunnel[1] must be an interface name of 1 to 15 letters, digits or ._@- (got "wg 1")',
      'config.yaml:5:38: apps[3].tunnel must be an interface name of 1 to 15 letters, digits or ._@- (got "wireguard-tunnel0")',
      'config.yaml:6:38: apps[4].tunnel must be an interface name or a list of them (got a mapping)',
      'config.yaml:7:38: apps[5].tunnel must be a string (got 0; quote it if it is meant as text)',
      'config.yaml:7:51: apps[5].failback must be true or false (got "yes")',
    ]);
  });
});

describe('parseConfig: errors among tunnels, with their path and position', () => {
  test('an interface twice among tunnels', () => {
    assert.equal(
      problem('tunnels:\n  - { interface: wg0 }\n  - { interface: wg1 }\n  - { interface: wg0 }\n'),
      'config.yaml:4:18: tunnels[2].interface duplicates tunnels[0].interface (got "wg0"); each tunnel is configured once',
    );
  });

  test('the primary in tunnel repeated in tunnels', () => {
    assert.equal(
      problem('tunnel: { interface: wg0 }\ntunnels:\n  - { interface: wg1 }\n  - { interface: wg0, via: wg1 }\n'),
      'config.yaml:4:18: tunnels[1].interface duplicates tunnel.interface (got "wg0"); the primary in tunnel is already the first tunnel; do not list it again',
    );
  });

  test('an entry of tunnels without an interface', () => {
    assert.equal(problem('tunnels:\n  - { interface: wg0 }\n  - { holdDown: 1s }\n'), 'config.yaml:3:5: tunnels[1].interface is required');
  });

  test('tunnels must be a non-empty list of mappings; a bad entry does not hide the others', () => {
    assert.equal(problem('tunnels: []\n'), 'config.yaml:1:10: tunnels must have at least 1 item');
    assert.equal(problem('tunnels: { interface: wg0 }\n'), 'config.yaml:1:10: tunnels must be a list (got a mapping)');
    assert.deepEqual(problems('tunnels: [wg0, { interface: wg1, via: wg0 }]\n'), [
      'config.yaml:1:11: tunnels[0] must be a mapping (got "wg0")',
      'config.yaml:1:39: tunnels[1].via must name the interface of a configured tunnel (got "wg0"; configured: wg1)',
    ]);
  });

  test('via naming an unknown interface, or its own tunnel', () => {
    assert.deepEqual(problems('tunnel: { interface: wg0, via: wg0 }\ntunnels:\n  - { interface: wg1, via: wg9 }\n'), [
      'config.yaml:1:32: tunnel.via must name another tunnel, not its own (got "wg0")',
      'config.yaml:3:28: tunnels[0].via must name the interface of a configured tunnel (got "wg9"; configured: wg0, wg1)',
    ]);
    // An auto-detected primary has no name a via could use.
    assert.equal(problem('tunnel:\n  via: wg1\n'), 'config.yaml:2:8: tunnel.via must name the interface of a configured tunnel (got "wg1"; configured: none)');
    assert.equal(problem('tunnels: [{ interface: wg0, via: "wg 1" }]\n'), 'config.yaml:1:34: tunnels[0].via must be an interface name of 1 to 15 letters, digits or ._@- (got "wg 1")');
  });

  test('a cycle of via is reported once, at its first tunnel', () => {
    assert.equal(
      problem('tunnels:\n  - { interface: wg0, via: wg1 }\n  - { interface: wg1, via: wg0 }\n'),
      'config.yaml:2:28: tunnels[0].via makes a cycle: wg0 → wg1 → wg0 (a tunnel cannot be reached through itself)',
    );
    assert.equal(
      problem('tunnel: { interface: wg0, via: wg2 }\ntunnels:\n  - { interface: wg3, via: wg1 }\n  - { interface: wg1, via: wg0 }\n  - { interface: wg2, via: wg1 }\n'),
      'config.yaml:1:32: tunnel.via makes a cycle: wg0 → wg2 → wg1 → wg0 (a tunnel cannot be reached through itself)',
    );
  });

  test('reconnect: a non-empty argv is required, durations as everywhere', () => {
    assert.deepEqual(problems(`tunnels:
  - { interface: wg0, reconnect: { every: 5s } }
  - { interface: wg1, reconnect: { command: [] } }
  - { interface: wg2, reconnect: { command: ["", up] } }
  - { interface: wg3, reconnect: { command: "wg-quick up wg3", every: 10, timeout: 0s } }
`), [
      'config.yaml:2:34: tunnels[0].reconnect.command is required',
      'config.yaml:3:45: tunnels[1].reconnect.command must have at least 1 item',
      'config.yaml:4:46: tunnels[2].reconnect.command[0] must not be empty (it is the program to run)',
      'config.yaml:5:45: tunnels[3].reconnect.command must be a list (got "wg-quick up wg3")',
      'config.yaml:5:71: tunnels[3].reconnect.every must be a duration with a unit, such as 500ms, 180s or 2m (got 10)',
      'config.yaml:5:84: tunnels[3].reconnect.timeout must be greater than 0 (got "0s")',
    ]);
  });

  test('per-tunnel dns: IP literals, at least one; the hold-down check applies to every tunnel', () => {
    assert.deepEqual(problems('tunnels:\n  - { interface: wg0, dns: [] }\n  - { interface: wg1, dns: [dns.example], holdDown: 5s, maxHoldDown: 1s }\n'), [
      'config.yaml:2:28: tunnels[0].dns must have at least 1 item',
      'config.yaml:3:29: tunnels[1].dns[0] must be a literal IPv4 or IPv6 address (got "dns.example")',
      'config.yaml:3:70: tunnels[1].maxHoldDown must be at least holdDown (5000 ms), got 1000 ms',
    ]);
  });

  test('tunnels is a known top-level key; a near miss is suggested', () => {
    assert.equal(problem('tunnel:\nTunnels: []\n'), 'config.yaml:2:1: Tunnels is not a known key (did you mean "tunnels"?)');
    assert.equal(problem('colour: blue\n'), 'config.yaml:1:1: colour is not a known key (known keys: tunnel, tunnels, lan, dns, cgroupParent, apps, hooks, allow, gateway)');
  });
});

test('allow: ranges, addresses and host names; a bad name or a whole address family is refused with what to give', () => {
  const c = parseConfig('allow: [10.20.0.0/16, 192.0.2.7, "fd20::/64", Intranet.Example.com.]\napps:\n  - { name: qb, command: [qb], allow: [198.51.100.0/24, licence.example.net] }\n');
  assert.deepEqual(c.allow, ['10.20.0.0/16', '192.0.2.7/32', 'fd20::/64', 'intranet.example.com']);
  assert.deepEqual(c.apps[0]?.allow, ['198.51.100.0/24', 'licence.example.net']);
  for (const bad of ['intra_net.example.com', 'printer', '-x.example.com', '10.1.2', 'a..b']) {
    assert.throws(() => parseConfig(`allow: ["${bad}"]\n`), /allow\[0\] must be an address, a CIDR range such as 10\.20\.0\.0\/16, or a host name such as intranet\.example\.com|allow\[0\] must be a CIDR range/, bad);
  }
  assert.throws(() => parseConfig('allow: [0.0.0.0/0]\n'), /allow\[0\] must not be a whole address family/);
  assert.throws(() => parseConfig('apps:\n  - { name: qb, command: [qb], allow: ["::/0"] }\n'), /apps\[0\]\.allow\[0\] must not be a whole address family/);
});
