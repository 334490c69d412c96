import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorize, AuthError } from '../src/daemon/authorize.js';
import { delegatedBase } from '../src/daemon/systemd.js';
import { settingsNeedingRestart } from '../src/daemon/daemon-config.js';
import { parseConfig } from '../src/config/index.js';
import { parsePasswd } from '../src/users.js';
import { LineSplitter } from '../src/ipc/lines.js';
import { parseRequest, RequestError } from '../src/ipc/validate.js';
import { reconcile, saveApp } from '../src/supervisor/reconcile.js';
import { nextAppId, uniqueName, defaultAppName } from '../src/supervisor/app.js';
import type { Cgroup } from '../cgroups/index.js';

const root = { pid: 1, uid: 0, gid: 0 };
const bob = { pid: 2, uid: 1000, gid: 1000 };

test('authority: root anything; users look, protect their own, act on their own apps only', () => {
  assert.doesNotThrow(() => authorize({ id: 1, op: 'release', name: 'x' }, root, 1000));
  assert.doesNotThrow(() => authorize({ id: 1, op: 'status' }, bob, undefined));
  assert.doesNotThrow(() => authorize({ id: 1, op: 'kill', name: 'x' }, bob, 1000));
  assert.throws(() => authorize({ id: 1, op: 'kill', name: 'x' }, bob, 0), AuthError);
  assert.throws(() => authorize({ id: 1, op: 'thaw', name: 'x' }, bob, 0), /belongs to uid 0, you are uid 1000/);
  assert.doesNotThrow(() => authorize({ id: 1, op: 'register', onDrop: 'freeze' }, bob, undefined));
  assert.throws(() => authorize({ id: 1, op: 'enter', name: 'x', pid: 5 }, bob, 0), /belongs to uid 0/);
});

test('requests are schema-checked before they reach the daemon', () => {
  assert.deepEqual(parseRequest('{"id":3,"op":"freeze","name":"qb"}'), { id: 3, op: 'freeze', name: 'qb' });
  const bad: Array<[string, RegExp]> = [
    ['nope', /not valid JSON/], ['[1]', /JSON object/], ['{"op":"status"}', /numeric "id"/],
    ['{"id":1,"op":"rm -rf"}', /unknown op/], ['{"id":1,"op":"status","x":1}', /unknown field "x"/],
    ['{"id":1,"op":"kill","name":"../x"}', /name must be/], ['{"id":1,"op":"register","onDrop":"pause"}', /onDrop/],
    ['{"id":1,"op":"register","command":"sh -c x"}', /list of strings/], ['{"id":1,"op":"protect","pid":1,"exe":"/x"}', /exactly one/],
    ['{"id":1,"op":"subscribe","status":"no"}', /status must be a boolean/],
  ];
  assert.deepEqual(parseRequest('{"id":4,"op":"subscribe","status":false}'), { id: 4, op: 'subscribe', status: false });
  for (const [line, message] of bad) assert.throws(() => parseRequest(line), (e: unknown) => e instanceof RequestError && message.test(e.message), line);
});

test('lines are bounded: an endless line is refused once', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(':2}\n'), ['{"b":2}']);
  assert.equal(s.push('x'.repeat(11)), 'overflow');
  assert.equal(s.push('{}\n'), 'overflow');
});

test('reconcile keeps live groups with their saved policy, removes empty ones, keeps strangers strict', () => {
  const g = (name: string) => ({ path: `/sys/fs/cgroup/ksapp/${name}` }) as Cgroup;
  const saved = [{ name: 'qb', id: 4, onDrop: 'kill' as const, allowLan: true, restart: true, uid: 1000, origin: 'run' as const, addedAt: 5, manualFreeze: true }];
  const { keep, remove } = reconcile([
    { cgroup: g('qb'), populated: true, frozen: true },
    { cgroup: g('gone'), populated: false, frozen: false },
    { cgroup: g('stranger'), populated: true, frozen: false },
  ], saved, 'wg0');
  assert.deepEqual(remove.map((c) => c.path), ['/sys/fs/cgroup/ksapp/gone']);
  const qb = keep.find((a) => a.name === 'qb')!;
  assert.equal(qb.id, 4);
  assert.equal(qb.onDrop, 'kill');
  assert.equal(qb.state, 'frozen');
  assert.equal(qb.manualFreeze, true);
  const stranger = keep.find((a) => a.name === 'stranger')!;
  assert.equal(stranger.onDrop, 'freeze');
  assert.notEqual(stranger.id, 4);
  assert.deepEqual(saveApp(qb, 'wg0'), saved[0]);
});

test('names and ids', () => {
  assert.equal(nextAppId([1, 2, 4]), 3);
  assert.equal(uniqueName('qb', (n) => ['qb', 'qb-2'].includes(n)), 'qb-3');
  assert.equal(defaultAppName('/usr/bin/qbittorrent'), 'qbittorrent');
  assert.equal(defaultAppName('..evil name'), '_evil_name');
});

test('systemd delegation and passwd parsing', () => {
  assert.equal(delegatedBase('0::/system.slice/ksapp.service\n', { INVOCATION_ID: 'x' }), 'system.slice/ksapp.service');
  assert.equal(delegatedBase('0::/system.slice/ksapp.service\n', {}), undefined);
  assert.equal(delegatedBase('0::/user.slice/session-1.scope\n', { INVOCATION_ID: 'x' }), undefined);
  assert.equal(parsePasswd('root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n').get(1000), 'bob');
});

test('a reload names the settings that wait for the next daemon start, and only those', () => {
  const before = parseConfig('tunnel:\n  probe: { address: 10.66.0.1 }\ndns: { servers: [10.66.0.1] }\n');
  const inUse = { inUse: 'wg0', fromFlag: false };
  assert.deepEqual(settingsNeedingRestart(before, before, inUse), []);
  // DNS, LAN and apps are applied live; the interface the daemon auto-detected is no change when the file names it.
  assert.deepEqual(settingsNeedingRestart(before, parseConfig('tunnel:\n  interface: wg0\n  probe: { address: 10.66.0.1 }\nlan: { allow: true }\n'), inUse), []);
  const after = parseConfig('tunnel:\n  interface: wg1\n  holdDown: 1s\n  probe: { address: 10.66.0.1, interval: 1s }\ncgroupParent: other\n');
  assert.deepEqual(settingsNeedingRestart(before, after, inUse), ['tunnel.interface', 'tunnel.probe', 'tunnel.holdDown', 'cgroupParent']);
  assert.deepEqual(settingsNeedingRestart(before, after, { inUse: 'wg0', fromFlag: true }), ['tunnel.probe', 'tunnel.holdDown', 'cgroupParent']);
});

test('one registry: an app is saved and taken back whole — its adoption and where release puts it included', () => {
  const group = { path: '/sys/fs/cgroup/ksapp/qb' } as unknown as Cgroup;
  const adoption = { group: '/sys/fs/cgroup/ksapp/qb', moved: [{ pid: 41, from: '/user.slice/u.scope' }], gone: [] };
  const saved = saveApp({
    name: 'qb', id: 3, onDrop: 'freeze', allowLan: false, restart: false, uid: 1000, origin: 'run', addedAt: 5, manualFreeze: false,
    cgroup: group, state: 'running', blocked: false, adoption, returnTo: '/sys/fs/cgroup/user.slice/u.scope', tunnels: ['wg0'], rides: 'wg0', failback: true,
  }, 'wg0');
  assert.deepEqual(saved.adoption, adoption);
  assert.equal(saved.returnTo, '/sys/fs/cgroup/user.slice/u.scope');
  const { keep } = reconcile([{ cgroup: group, populated: true, frozen: false }], [saved], 'wg0');
  assert.deepEqual(keep[0]?.adoption, adoption);
  assert.equal(keep[0]?.returnTo, '/sys/fs/cgroup/user.slice/u.scope');
});
