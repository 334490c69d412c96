import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KsappError } from '../src/errors.js';
import {
  AddressError, ConfigError, DurationError, LAN_RANGES, formatIp, ipInCidr, isPrivateRange, loadConfig, parseCidr,
  parseConfig, parseDuration, parseIp, type Config,
} from '../src/config/index.js';

const DESIGN_EXAMPLE = `tunnel:
  interface: wg0            # or auto-detected when exactly one wg*/tun* exists
  handshakeTimeout: 180s    # WireGuard: a handshake older than this = down
  probe:                    # optional active probe through the tunnel
    address: 10.66.0.1
    interval: 500ms
    failures: 3
lan: { allow: false }       # let protected apps reach private ranges directly
dns: { servers: [10.66.0.1] }  # protected apps' DNS goes here, through the tunnel
cgroupParent: ksapp         # where app groups are created
apps:
  - name: qbittorrent
    match: { exe: /usr/bin/qbittorrent }   # adopted when seen running
    onDrop: freeze
`;

/** The formatted issues parseConfig throws for `text`; fails the test when it parses. */
function problems(text: string): string[] {
  try {
    parseConfig(text, 'config.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
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

describe('parseConfig: valid files', () => {
  test('the design example parses into ms durations and filled defaults', () => {
    const tunnel = { interface: 'wg0', handshakeTimeout: 180_000, probe: { address: '10.66.0.1', interval: 500, failures: 3 }, holdDown: 250, maxHoldDown: 30_000 };
    const expected: Config = {
      tunnel,
      tunnels: [tunnel],
      lan: { allow: false, ranges: [...LAN_RANGES] },
      dns: { servers: ['10.66.0.1'] },
      cgroupParent: 'ksapp',
      apps: [{ name: 'qbittorrent', match: { exe: '/usr/bin/qbittorrent' }, onDrop: 'freeze', restart: false, allowLan: false, failback: true, at: 'config.yaml:13' }],
      hooks: [],
      allow: [],
      gateway: [],
    };
    assert.deepEqual(parseConfig(DESIGN_EXAMPLE, 'config.yaml'), expected);
  });

  test('an empty file, a comment-only file and a bare document marker are the empty config', () => {
    const empty: Config = {
      tunnel: { handshakeTimeout: 180_000, holdDown: 250, maxHoldDown: 30_000 },
      tunnels: [{ handshakeTimeout: 180_000, holdDown: 250, maxHoldDown: 30_000 }],
      lan: { allow: false, ranges: [...LAN_RANGES] },
      dns: { servers: [] },
      cgroupParent: 'ksapp',
      apps: [],
      hooks: [],
      allow: [],
      gateway: [],
    };
    for (const text of ['', '\n', '# nothing yet\n', '---\n', 'tunnel:\napps:\n']) assert.deepEqual(parseConfig(text), empty, JSON.stringify(text));
  });

  test('defaults inside sections: handshake timeout, probe interval and failures, app policy', () => {
    const config = parseConfig('tunnel:\n  probe: { address: "fd00::1" }\napps:\n  - { name: a, command: [a] }\n');
    assert.deepEqual(config.tunnel, { handshakeTimeout: 180_000, probe: { address: 'fd00::1', interval: 500, failures: 3 }, holdDown: 250, maxHoldDown: 30_000 });
    assert.deepEqual(config.apps[0], { name: 'a', command: ['a'], onDrop: 'freeze', restart: false, allowLan: false, failback: true });
  });

  test('allowLan follows lan.allow unless the app sets it', () => {
    const config = parseConfig('lan: { allow: true }\napps:\n  - { name: a, command: [a] }\n  - { name: b, command: [b], allowLan: false }\n');
    assert.deepEqual(config.apps.map((a) => a.allowLan), [true, false]);
  });

  test('every field at once, IPv6 literals, compound durations, argv numbers kept as written', () => {
    const config = parseConfig(`tunnel: { interface: tun0, handshakeTimeout: 2m30s, probe: { address: "::ffff:10.0.0.1", interval: 1s, failures: 1 } }
lan: { allow: true, ranges: [192.168.1.0/24, fe80::/64, 239.255.255.250, "ff02::/16"] }
dns: { servers: [10.64.0.1, "fd00::53"] }
cgroupParent: system.slice/ksapp
apps:
  - name: web-1.0_x
    match: { exe: /usr/bin/firefox, name: firefox, user: 1000 }
    command: [sleep, 10, 0x1F, true]
    onDrop: kill
    restart: true
    allowLan: false
    user: alice
`);
    assert.equal(config.tunnel.handshakeTimeout, 150_000);
    assert.equal(config.tunnel.probe?.interval, 1000);
    assert.deepEqual(config.lan.ranges, ['192.168.1.0/24', 'fe80::/64', '239.255.255.250/32', 'ff02::/16']);
    assert.deepEqual(config.dns.servers, ['10.64.0.1', 'fd00::53']);
    assert.equal(config.cgroupParent, 'system.slice/ksapp');
    assert.deepEqual(config.apps[0], {
      name: 'web-1.0_x',
      match: { exe: '/usr/bin/firefox', name: 'firefox', user: '1000' },
      command: ['sleep', '10', '0x1F', 'true'],
      onDrop: 'kill',
      restart: true,
      allowLan: false,
      user: 'alice',
      failback: true,
      at: 'config.yaml:7', // where its match is written, for messages about the rule
    });
  });

  test('anchors and aliases are followed', () => {
    const config = parseConfig('apps:\n  - { name: a, match: &m { exe: /bin/x }, onDrop: block }\n  - { name: b, match: *m }\n');
    assert.deepEqual(config.apps[1]?.match, { exe: '/bin/x' });
  });
});

describe('parseConfig: each error with its line and column', () => {
  test('the brief example: a bad onDrop points at the value', () => {
    assert.equal(
      problem('apps:\n  - name: a\n    command: [a]\n    onDrop: pause\n'),
      'config.yaml:4:13: apps[0].onDrop must be one of freeze, kill, block (got "pause")',
    );
  });

  test('unknown keys at every level, with a suggestion when one is close', () => {
    assert.deepEqual(problems('tunnel:\n  interfase: wg0\nlan: { allow: false, range: [] }\napps:\n  - { name: a, command: [a], onDorp: kill }\nextra: 1\n'), [
      'config.yaml:2:3: tunnel.interfase is not a known key (did you mean "interface"?)',
      'config.yaml:3:22: lan.range is not a known key (did you mean "ranges"?)',
      'config.yaml:5:30: apps[0].onDorp is not a known key (did you mean "onDrop"?)',
      'config.yaml:6:1: extra is not a known key (known keys: tunnel, tunnels, lan, dns, cgroupParent, apps, hooks, allow, gateway)',
    ]);
    assert.equal(problem('cgroupparent: x\n'), 'config.yaml:1:1: cgroupparent is not a known key (did you mean "cgroupParent"?)');
  });

  test('bad durations: no unit, unknown unit, zero, negative, too long for a timer', () => {
    assert.deepEqual(problems('tunnel:\n  handshakeTimeout: 180\n  probe:\n    address: 10.0.0.1\n    interval: 5 parsecs\n'), [
      'config.yaml:2:21: tunnel.handshakeTimeout must be a duration with a unit, such as 500ms, 180s or 2m (got 180)',
      'config.yaml:5:15: tunnel.probe.interval must be a duration with a unit, such as 500ms, 180s or 2m (got "5 parsecs")',
    ]);
    assert.equal(problem('tunnel: { probe: { address: 10.0.0.1, interval: 0ms } }'), 'config.yaml:1:49: tunnel.probe.interval must be greater than 0 (got "0ms")');
    assert.equal(problem('tunnel: { handshakeTimeout: -1s }'), 'config.yaml:1:29: tunnel.handshakeTimeout must be a duration with a unit, such as 500ms, 180s or 2m (got "-1s")');
    assert.equal(problem('tunnel: { handshakeTimeout: 600h }'), 'config.yaml:1:29: tunnel.handshakeTimeout must be at most 2147483647ms, about 24.8 days (got "600h")');
  });

  test('probe: address must be a literal IP, failures a whole number ≥ 1, address required', () => {
    assert.deepEqual(problems('tunnel:\n  probe:\n    address: vpn.example.com\n    failures: 0\n'), [
      'config.yaml:3:14: tunnel.probe.address must be a literal IPv4 or IPv6 address (got "vpn.example.com")',
      'config.yaml:4:15: tunnel.probe.failures must be at least 1 (got 0)',
    ]);
    assert.equal(problem('tunnel: { probe: { address: "10.0.0.1:53" } }'), 'config.yaml:1:29: tunnel.probe.address must be a literal IPv4 or IPv6 address (got "10.0.0.1:53")');
    assert.equal(problem('tunnel: { probe: { address: 0.0.0.0 } }'), 'config.yaml:1:29: tunnel.probe.address must not be the unspecified address (got "0.0.0.0")');
    assert.equal(problem('tunnel: { probe: { address: 10.0.0.1, failures: 1.5 } }'), 'config.yaml:1:49: tunnel.probe.failures must be a whole number (got 1.5)');
    assert.equal(problem('tunnel: { probe: { address: 10.0.0.1, failures: "3" } }'), 'config.yaml:1:49: tunnel.probe.failures must be a whole number (got "3")');
    assert.equal(problem('tunnel:\n  probe: { interval: 1s }\n'), 'config.yaml:2:10: tunnel.probe.address is required');
    assert.equal(problem('tunnel:\n  probe:\n    address:\n'), 'config.yaml:3:5: tunnel.probe.address is required');
  });

  test('LAN ranges must be private, link-local, ULA or multicast, without host bits', () => {
    assert.deepEqual(problems('lan:\n  ranges:\n    - 10.0.0.0/8\n    - 8.8.8.0/24\n    - 10.0.0.0/7\n    - 192.168.1.5/24\n    - "2001:db8::/32"\n    - "fd00::1/8"\n    - lan\n'), [
      'config.yaml:4:7: lan.ranges[1] must be a private, link-local, ULA or multicast range (got "8.8.8.0/24")',
      'config.yaml:5:7: lan.ranges[2] must be a private, link-local, ULA or multicast range (got "10.0.0.0/7")',
      'config.yaml:6:7: lan.ranges[3] has host bits set (got "192.168.1.5/24"; did you mean "192.168.1.0/24"?)',
      'config.yaml:7:7: lan.ranges[4] must be a private, link-local, ULA or multicast range (got "2001:db8::/32")',
      'config.yaml:8:7: lan.ranges[5] has host bits set (got "fd00::1/8"; did you mean "fd00::/8"?)',
      'config.yaml:9:7: lan.ranges[6] must be a CIDR range such as 192.168.0.0/16 or fd00::/8 (got "lan")',
    ]);
    assert.equal(problem('lan: { allow: yes }'), 'config.yaml:1:15: lan.allow must be true or false (got "yes")');
  });

  test('DNS servers are IP literals only', () => {
    assert.deepEqual(problems('dns:\n  servers: [10.66.0.1, dns.example, "::", "fe80::1%wg0"]\n'), [
      'config.yaml:2:24: dns.servers[1] must be a literal IPv4 or IPv6 address (got "dns.example")',
      'config.yaml:2:37: dns.servers[2] must not be the unspecified address (got "::")',
      'config.yaml:2:43: dns.servers[3] must be a literal IPv4 or IPv6 address (got "fe80::1%wg0")',
    ]);
    assert.equal(problem('dns: { servers: 10.66.0.1 }'), 'config.yaml:1:17: dns.servers must be a list (got "10.66.0.1")');
  });

  test('cgroupParent must be a safe relative path', () => {
    for (const bad of ['/ksapp', 'a/../b', '..', 'a//b', 'a/', '.hidden', 'a b']) {
      assert.equal(
        problem(`cgroupParent: "${bad}"`),
        `config.yaml:1:15: cgroupParent must be a relative cgroup path: segments of letters, digits, ".", "_" or "-", no "..", no leading "/" (got ${JSON.stringify(bad)})`,
      );
    }
  });

  test('the interface name must look like a Linux interface name', () => {
    assert.equal(problem('tunnel: { interface: wireguard-tunnel0 }'), 'config.yaml:1:22: tunnel.interface must be an interface name of 1 to 15 letters, digits or ._@- (got "wireguard-tunnel0")');
    assert.equal(problem('tunnel: { interface: ".." }'), 'config.yaml:1:22: tunnel.interface must not be "." or ".." (got "..")');
  });

  test('app names: pattern, length, "." and "..", required, unique', () => {
    assert.deepEqual(problems(`apps:
  - { name: "my app", command: [a] }
  - { name: ${'x'.repeat(65)}, command: [a] }
  - { name: .., command: [a] }
  - { command: [a] }
  - { name: ok, command: [a] }
  - { name: ok, command: [b] }
  - { name: 7, command: [c] }
`), [
      'config.yaml:2:13: apps[0].name must be 1 to 64 letters, digits, ".", "_" or "-" (got "my app")',
      `config.yaml:3:13: apps[1].name must be 1 to 64 letters, digits, ".", "_" or "-" (got "${'x'.repeat(65)}")`,
      'config.yaml:4:13: apps[2].name must not be "." or ".." (got "..")',
      'config.yaml:5:5: apps[3].name is required',
      'config.yaml:7:13: apps[5].name duplicates apps[4].name (got "ok"); app names must be unique',
      'config.yaml:8:13: apps[6].name must be a string (got 7; quote it if it is meant as text)',
    ]);
  });

  test('apps need match or command; match must not be empty; command is a non-empty argv', () => {
    assert.deepEqual(problems(`apps:
  - name: nothing
    onDrop: block
  - name: everything
    match: {}
  - name: noargv
    command: []
  - name: emptyprog
    command: ["", x]
  - name: relative
    match: { exe: bin/x, user: "root user" }
    command: "sleep 10"
`), [
      'config.yaml:2:5: apps[0] needs "match" (to adopt it when seen running) or "command" (to start it), or both',
      'config.yaml:5:12: apps[1].match must set at least one of exe, name, user, or a unit or container',
      'config.yaml:7:14: apps[2].command must have at least 1 item',
      'config.yaml:9:15: apps[3].command[0] must not be empty (it is the program to run)',
      'config.yaml:11:19: apps[4].match.exe must be an absolute path (got "bin/x")',
      'config.yaml:11:32: apps[4].match.user must be a user name or a numeric uid (got "root user")',
      'config.yaml:12:14: apps[4].command must be a list (got "sleep 10")',
    ]);
  });

  test('restart only with onDrop: kill', () => {
    assert.equal(problem('apps:\n  - name: a\n    command: [a]\n    restart: true\n'), 'config.yaml:4:14: apps[0].restart only applies with onDrop: kill (onDrop is freeze)');
    assert.equal(parseConfig('apps:\n  - { name: a, command: [a], onDrop: kill, restart: true }\n').apps[0]?.restart, true);
  });

  test('hold-down: durations, and the maximum no shorter than the base', () => {
    const tunnel = parseConfig('tunnel:\n  holdDown: 1s\n  maxHoldDown: 1m\n').tunnel;
    assert.equal(tunnel.holdDown, 1000);
    assert.equal(tunnel.maxHoldDown, 60_000);
    assert.equal(problem('tunnel:\n  holdDown: 5s\n  maxHoldDown: 1s\n'), 'config.yaml:3:16: tunnel.maxHoldDown must be at least holdDown (5000 ms), got 1000 ms');
    assert.match(problem('tunnel:\n  holdDown: 0ms\n'), /^config\.yaml:2:13: tunnel\.holdDown /);
  });

  test('wrong node kinds: a list where a mapping belongs and the reverse', () => {
    assert.deepEqual(problems('tunnel: [wg0]\napps: { name: a }\n'), [
      'config.yaml:1:9: tunnel must be a mapping (got a list)',
      'config.yaml:2:7: apps must be a list (got a mapping)',
    ]);
    assert.equal(problem('- a\n- b\n'), 'config.yaml:1:1: the top level must be a mapping of tunnel, tunnels, lan, dns, cgroupParent, apps, hooks, allow, gateway (got a list)');
    assert.equal(problem('just text\n'), 'config.yaml:1:1: the top level must be a mapping of tunnel, tunnels, lan, dns, cgroupParent, apps, hooks, allow, gateway (got "just text")');
  });

  test('YAML syntax errors and duplicate keys are reported with their position', () => {
    assert.equal(problem('apps:\n  - name: a\ncgroupParent: ksapp\ncgroupParent: other\n'), 'config.yaml:4:1: YAML: Map keys must be unique');
    assert.match(problems('dns: { servers: [10.0.0.1\n')[0] ?? '', /^config\.yaml:2:1: YAML: Flow sequence in block collection must be sufficiently indented/);
    assert.match(problem('a: 1\n---\nb: 2\n'), /^config\.yaml:2:1: YAML: Source contains multiple documents/);
  });

  test('aliases: an unknown anchor is refused, and so are more than 100 alias uses (nested aliases multiply)', () => {
    assert.equal(problem('lan: *nowhere\n'), 'config.yaml:1:6: lan refers to an unknown anchor *nowhere');
    const hundred = Array(100).fill('*s').join(', ');
    assert.equal(parseConfig(`dns: { servers: [&s 10.0.0.1, ${hundred}] }`).dns.servers.length, 101);
    assert.deepEqual(problems(`dns: { servers: [&s 10.0.0.1, ${hundred}, *s] }`), [
      `config.yaml:1:${31 + 4 * 100}: dns.servers[101] uses more than 100 aliases`,
    ]);
  });
});

describe('parseConfig: all problems at once', () => {
  test('every error in the file is reported, in file order, and the error carries them as data', () => {
    const text = `tunnel:
  handshakeTimeout: 3 minutes
  probe: { address: 10.66.0.1, failures: 0 }
lan:
  ranges: [1.1.1.0/24]
colour: blue
apps:
  - { name: a, command: [a], onDrop: pause }
  - { name: a, match: { exe: /bin/a } }
`;
    let caught: unknown;
    try {
      parseConfig(text, '/etc/ksapp/config.yaml');
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConfigError);
    assert.ok(caught instanceof KsappError);
    assert.equal(caught.exitCode, 2);
    assert.equal(caught.code, 'CONFIG_INVALID');
    assert.equal(caught.fileName, '/etc/ksapp/config.yaml');
    assert.deepEqual(caught.issues.map((i) => [i.line, i.column, i.path]), [
      [2, 21, 'tunnel.handshakeTimeout'],
      [3, 42, 'tunnel.probe.failures'],
      [5, 12, 'lan.ranges[0]'],
      [6, 1, 'colour'],
      [8, 38, 'apps[0].onDrop'],
      [9, 13, 'apps[1].name'],
    ]);
    assert.equal(caught.message.split('\n')[0], 'invalid config /etc/ksapp/config.yaml (6 problems):');
    assert.equal(caught.message.split('\n')[5]?.trim(), '/etc/ksapp/config.yaml:8:38: apps[0].onDrop must be one of freeze, kill, block (got "pause")');
  });
});

describe('loadConfig', () => {
  test('reads a file, reports issues under its path, refuses missing files, directories and FIFOs', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ksapp-config-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.yaml');
    await writeFile(good, DESIGN_EXAMPLE);
    assert.equal((await loadConfig(good)).apps[0]?.name, 'qbittorrent');

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'cgroupParent: /abs\n');
    await assert.rejects(loadConfig(bad), (e: unknown) => e instanceof ConfigError && e.issues.length === 1 && e.message.includes(`${bad}:1:15: cgroupParent`));

    const missing = join(dir, 'missing.yaml');
    await assert.rejects(loadConfig(missing), (e: unknown) =>
      e instanceof ConfigError && e.code === 'CONFIG_NOT_FOUND' && e.exitCode === 2 && e.issues.length === 0 && e.hint.includes('--config') && e.message.includes(missing));

    const sub = join(dir, 'sub');
    await mkdir(sub);
    await assert.rejects(loadConfig(sub), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_NOT_A_FILE');

    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(loadConfig(fifo), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_NOT_A_FILE');

    const empty = join(dir, 'empty.yaml');
    await writeFile(empty, '');
    assert.deepEqual((await loadConfig(empty)).apps, []);
  });
});

describe('parseDuration', () => {
  test('units, compound forms, fractions and numbers', () => {
    const cases: [string | number, number][] = [
      ['180s', 180_000], ['500ms', 500], ['2m', 120_000], ['1h', 3_600_000], ['1m30s', 90_000], ['1h2m3s4ms', 3_723_004],
      ['1.5s', 1500], ['0.25m', 15_000], [' 10s ', 10_000], ['0s', 0], [250, 250], [0, 0],
    ];
    for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, String(input));
  });

  test('bad input throws DurationError (exit code 2) saying what is wrong', () => {
    for (const input of ['', '180', '5 s', '-1s', '1d', 's', '1.s', '.5s', '10S', '1s ms', '0.5ms', NaN, -1, Infinity]) {
      assert.throws(() => parseDuration(input), (e: unknown) => e instanceof DurationError && e.exitCode === 2 && e.code === 'DURATION_INVALID', String(input));
    }
    assert.throws(() => parseDuration('180'), /needs a unit/);
  });
});

describe('ip helpers', () => {
  test('parseIp accepts strict literals only', () => {
    assert.deepEqual(parseIp('10.66.0.1'), { family: 4, value: 0x0a420001n });
    assert.deepEqual(parseIp('::'), { family: 6, value: 0n });
    assert.deepEqual(parseIp('::1'), { family: 6, value: 1n });
    assert.deepEqual(parseIp('::ffff:1.2.3.4'), { family: 6, value: 0xffff01020304n });
    assert.equal(parseIp('1:2:3:4:5:6:7:8')?.value, 0x00010002000300040005000600070008n);
    assert.equal(parseIp('1:2:3:4:5:6:1.2.3.4')?.value, 0x00010002000300040005000601020304n);
    assert.equal(parseIp('FD00::ABCD')?.value, 0xfd00000000000000000000000000abcdn);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', 'localhost', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9',
      '1::2::3', ':1::', '1:::2', '1:2:3:4:5:6:7::8', '12345::', 'fe80::1%eth0', '1.2.3.4::', '::1.2.3', 'g::1', '[::1]']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  test('ipInCidr: IPv4 boundaries, /0, /32, families kept apart', () => {
    assert.equal(ipInCidr('10.0.0.0', '10.0.0.0/8'), true);
    assert.equal(ipInCidr('10.255.255.255', '10.0.0.0/8'), true);
    assert.equal(ipInCidr('11.0.0.0', '10.0.0.0/8'), false);
    assert.equal(ipInCidr('9.255.255.255', '10.0.0.0/8'), false);
    assert.equal(ipInCidr('10.66.0.1', '10.66.0.2/24'), true, 'host bits in the range are ignored');
    assert.equal(ipInCidr('10.66.0.1', '10.66.0.1/32'), true);
    assert.equal(ipInCidr('10.66.0.2', '10.66.0.1/32'), false);
    assert.equal(ipInCidr('10.66.0.1', '10.66.0.1'), true, 'a bare address is a /32');
    assert.equal(ipInCidr('203.0.113.9', '0.0.0.0/0'), true);
    assert.equal(ipInCidr('::1', '0.0.0.0/0'), false);
    assert.equal(ipInCidr('::ffff:10.0.0.1', '10.0.0.0/8'), false, 'IPv4-mapped IPv6 is IPv6');
    assert.equal(ipInCidr('10.0.0.1', '::/0'), false);
  });

  test('ipInCidr: IPv6 boundaries, /0, /128, odd prefixes', () => {
    assert.equal(ipInCidr('fd00::1', 'fd00::/8'), true);
    assert.equal(ipInCidr('fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fd00::/8'), true);
    assert.equal(ipInCidr('fe00::', 'fd00::/8'), false);
    assert.equal(ipInCidr('fc00::1', 'fc00::/7'), true);
    assert.equal(ipInCidr('fdab::1', 'fc00::/7'), true);
    assert.equal(ipInCidr('fe80::1', 'fc00::/7'), false);
    assert.equal(ipInCidr('fd66::1', 'FD66:0:0:0::/64'), true);
    assert.equal(ipInCidr('fd66:0:0:1::1', 'fd66::/64'), false);
    assert.equal(ipInCidr('2001:db8::1', '2001:db8::1/128'), true);
    assert.equal(ipInCidr('2001:db8::2', '2001:db8::1/128'), false);
    assert.equal(ipInCidr('2001:db8::1', '::/0'), true);
    assert.equal(ipInCidr('::ffff:10.0.0.1', '::ffff:10.0.0.0/104'), true);
    assert.equal(ipInCidr('::ffff:11.0.0.1', '::ffff:10.0.0.0/104'), false);
  });

  test('ipInCidr and isPrivateRange throw AddressError on bad input', () => {
    for (const [ip, range] of [['x', '10.0.0.0/8'], ['10.0.0.1', '10.0.0.0/33'], ['::1', '::/129'], ['::1', '::/'], ['10.0.0.1', '10.0.0.0/08'], ['10.0.0.1', '10.0.0.0/8/8']] as const) {
      assert.throws(() => ipInCidr(ip, range), AddressError, `${ip} ${range}`);
    }
    assert.throws(() => isPrivateRange('nope'), AddressError);
  });

  test('isPrivateRange: inside private, link-local, ULA or multicast, and no wider', () => {
    for (const yes of ['10.0.0.0/8', '10.1.2.0/24', '172.16.0.0/12', '172.31.255.255/32', '192.168.0.0/16', '169.254.0.0/16', '224.0.0.0/4',
      '239.255.255.250', '255.255.255.255/32', 'fc00::/7', 'fd00::/8', 'fe80::/10', 'fe80::/64', 'ff02::1', 'ff00::/8']) {
      assert.equal(isPrivateRange(yes), true, yes);
    }
    for (const no of ['0.0.0.0/0', '10.0.0.0/7', '172.32.0.0/16', '172.0.0.0/8', '192.169.0.0/16', '8.8.8.8/32', '100.64.0.0/10', '127.0.0.0/8',
      '255.255.255.0/24', '::/0', '2001:db8::/32', 'fc00::/6', 'fec0::/10', '::1', '::ffff:10.0.0.1']) {
      assert.equal(isPrivateRange(no), false, no);
    }
  });

  test('parseCidr and formatIp', () => {
    assert.deepEqual(parseCidr('192.168.1.5/24'), { family: 4, address: 0xc0a80105n, network: 0xc0a80100n, prefix: 24 });
    assert.equal(parseCidr('fd00::/8')?.prefix, 8);
    assert.equal(parseCidr('fd00::')?.prefix, 128);
    const canonical = (s: string): string => {
      const ip = parseIp(s);
      assert.ok(ip, s);
      return formatIp(ip);
    };
    assert.equal(canonical('10.0.0.1'), '10.0.0.1');
    assert.equal(canonical('0:0:0:0:0:0:0:0'), '::');
    assert.equal(canonical('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonical('FD00:0:0:0:0:0:0:0'), 'fd00::');
    assert.equal(canonical('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
    assert.equal(canonical('1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7', 'a single zero group is not compressed');
    assert.equal(canonical('1:0:0:2:3:0:0:4'), '1::2:3:0:0:4', 'the first of equal runs is compressed');
  });
});

test('a unit rule names one .service or .scope unit and stands alone', () => {
  const ok = parseConfig('apps:\n  - name: dl\n    match: { unit: qbittorrent-nox.service }\n', 'config.yaml');
  assert.equal(ok.apps[0]?.match?.unit, 'qbittorrent-nox.service');
  assert.throws(() => parseConfig('apps:\n  - name: dl\n    match: { unit: qb.service, exe: /usr/bin/qb }\n', 'config.yaml'), /apps\[0\]\.match\.unit stands alone/);
  assert.throws(() => parseConfig('apps:\n  - name: dl\n    match: { unit: qbittorrent }\n', 'config.yaml'), /must name a \.service or \.scope unit/);
  assert.throws(() => parseConfig('apps:\n  - name: dl\n    match: { unit: "../x.service" }\n', 'config.yaml'), /must be a systemd unit name/);
});
