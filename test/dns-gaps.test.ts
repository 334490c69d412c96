import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dnsBypasses, dnsBypassWarning, nsswitchHosts } from '../src/launch/index.js';
import { formatProtect } from '../src/commands/protect.js';

test('nsswitch hosts line: modules in order, actions and comments dropped, absent line is empty', () => {
  const ubuntu = 'passwd: files systemd\n# hosts: nis\nhosts:          files mdns4_minimal [NOTFOUND=return] resolve [!UNAVAIL=return] dns myhostname\n';
  assert.deepEqual(nsswitchHosts(ubuntu), ['files', 'mdns4_minimal', 'resolve', 'dns', 'myhostname']);
  assert.deepEqual(nsswitchHosts('hosts: files dns # resolve\n'), ['files', 'dns']);
  assert.deepEqual(nsswitchHosts('passwd: files\n'), []);
});

test('local resolvers an unconfined lookup reaches: resolved only through nss-resolve, nscd by its socket, each once', () => {
  const sockets = (...paths: string[]) => (p: string) => paths.includes(p);
  const resolved = '/run/systemd/resolve/io.systemd.Resolve';
  assert.deepEqual(dnsBypasses(['files', 'resolve', 'dns'], sockets(resolved)), [`systemd-resolved (nss-resolve) at ${resolved}`]);
  // resolved running but glibc not asking it (resolv.conf to 127.0.0.53 is dropped by the firewall instead).
  assert.deepEqual(dnsBypasses(['files', 'dns'], sockets(resolved)), []);
  assert.deepEqual(dnsBypasses(['files', 'dns'], sockets('/run/nscd/socket', '/var/run/nscd/socket')), ['nscd at /run/nscd/socket']);
  assert.deepEqual(dnsBypasses(['files', 'resolve'], sockets()), []);
  assert.equal(dnsBypassWarning('qb', []), null);
  assert.match(dnsBypassWarning('qb', ['nscd at /run/nscd/socket'])!, /^qb: name lookups through nscd at \/run\/nscd\/socket .*do not go through the tunnel.*sudo ksapp run/);
});

test('protect output ends with the DNS warning when lookups bypass the app group, and has none otherwise', () => {
  const result = { name: 'qb', cgroup: '/sys/fs/cgroup/ksapp/qb', moved: 2, gone: 0, unprotected: [], listenersClosed: [], dnsBypass: [], marked: [] };
  assert.equal(formatProtect(result), 'qb: 2 process(es) moved into /sys/fs/cgroup/ksapp/qb');
  const out = formatProtect({ ...result, dnsBypass: ['nscd at /run/nscd/socket'] }).split('\n');
  assert.equal(out.length, 2);
  assert.match(out[1]!, /^warning: qb: name lookups through nscd/);
});
