// The pure checks behind the security fixes: app names, socket directories, saved state, a daemon's
// answer to register, and the environment a started daemon gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appNameProblem } from '../src/app-name.js';
import { daemonEnv, SAFE_PATH } from '../src/daemon/daemon-env.js';
import { savedAppProblem, trustedState } from '../src/daemon/state-check.js';
import { unsafeDirProblem, type DirFacts } from '../src/ipc/safe-files.js';
import { registrationProblem } from '../src/launch/registration.js';

test('one app-name rule: a single safe cgroup directory name', () => {
  for (const ok of ['qbittorrent', 'a', 'my.app-2_x', 'x'.repeat(64), '.hidden']) assert.equal(appNameProblem(ok), undefined, ok);
  for (const bad of ['.', '..', '', 'a/b', '../x', 'tab\there', 'nl\n', 'x'.repeat(65), 'cgroup.procs', 'cgroup.kill', 'sp ace', 'é']) {
    assert.notEqual(appNameProblem(bad), undefined, JSON.stringify(bad));
  }
  assert.notEqual(appNameProblem(7), undefined);
});

const dir = (path: string, uid: number, mode: number, isDirectory = true): DirFacts => ({ path, uid, mode: 0o40000 | mode, isDirectory });

test('socket directories: private to root, with sticky world-writable ancestors allowed', () => {
  assert.equal(unsafeDirProblem([dir('/run/ksapp', 0, 0o755), dir('/run', 0, 0o755), dir('/', 0, 0o755)], 0), undefined);
  assert.equal(unsafeDirProblem([dir('/tmp/k', 0, 0o700), dir('/tmp', 0, 0o1777), dir('/', 0, 0o755)], 0), undefined);
  assert.match(unsafeDirProblem([dir('/tmp', 0, 0o1777), dir('/', 0, 0o755)], 0)!, /writable by every user/);
  assert.match(unsafeDirProblem([dir('/x/k', 0, 0o775), dir('/x', 0, 0o755)], 0)!, /writable by its group/);
  assert.match(unsafeDirProblem([dir('/home/u/k', 1000, 0o700), dir('/home/u', 1000, 0o755)], 0)!, /belongs to uid 1000/);
  assert.match(unsafeDirProblem([dir('/x/k', 0, 0o755), dir('/x', 1000, 0o755)], 0)!, /\/x belongs to uid 1000/);
  assert.match(unsafeDirProblem([dir('/x/k', 0, 0o755), dir('/x', 0, 0o777)], 0)!, /\/x is writable by every user/);
  assert.match(unsafeDirProblem([dir('/x/k', 0, 0o644, false)], 0)!, /not a directory/);
});

const bounds = { cgroupRoot: '/sys/fs/cgroup', parentPath: '/sys/fs/cgroup/ksapp' };
const app = { name: 'qb', id: 4, onDrop: 'kill', allowLan: true, restart: true, uid: 1000, origin: 'run', addedAt: 5, manualFreeze: false };

test('saved state: every entry is checked as if a user had sent it', () => {
  assert.equal(savedAppProblem(app, bounds), undefined);
  assert.equal(savedAppProblem({ ...app, inPlace: '/sys/fs/cgroup/system.slice/x.service' }, bounds), undefined);
  assert.equal(savedAppProblem({ ...app, adoption: { group: '/sys/fs/cgroup/ksapp/qb', moved: [{ pid: 40, from: '/user.slice' }], gone: [41] } }, bounds), undefined);
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...app, name: '..' }, /name must not be/], [{ ...app, id: 0 }, /id/], [{ ...app, id: 70000 }, /id/], [{ ...app, onDrop: 'pause' }, /onDrop/],
    [{ ...app, uid: -1 }, /uid/], [{ ...app, origin: 'x' }, /origin/], [{ ...app, allowLan: 'yes' }, /flag/],
    [{ ...app, inPlace: '/sys/fs/cgroup' }, /inPlace/], [{ ...app, inPlace: '/sys/fs/cgroup/../x' }, /inPlace/],
    [{ ...app, inPlace: '/sys/fs/cgroup/ksapp/other' }, /inPlace/], [{ ...app, inPlace: '/etc' }, /inPlace/],
    [{ ...app, adoption: { group: '/sys/fs/cgroup', moved: [], gone: [] } }, /adoption names group/],
    [{ ...app, adoption: { group: '/sys/fs/cgroup/ksapp/qb', moved: [{ pid: 40, from: '/../etc' }], gone: [] } }, /moved/],
    [{ ...app, adoption: { group: '/sys/fs/cgroup/ksapp/qb', moved: [{ pid: 1, from: '/' }], gone: [] } }, /moved/],
  ];
  for (const [a, why] of bad) assert.match(savedAppProblem(a, bounds) ?? 'accepted', why, JSON.stringify(a));
  const { state, dropped } = trustedState({ version: 1, cgroupParent: 'ksapp', apps: [app, { ...app, name: '.' }, app] }, bounds);
  assert.deepEqual(state?.apps.map((a) => a.name), ['qb']);
  assert.equal(dropped.length, 2);
  assert.match(dropped[1]!, /apps\[2\]: a second app of that name/);
  assert.equal(trustedState({ version: 2, apps: [] }, bounds).state, undefined);
});

test("a daemon's answer to register names the app's group right below a parent below the mount", () => {
  const root = '/sys/fs/cgroup';
  const reg = { name: 'qb', cgroup: '/sys/fs/cgroup/ksapp/qb', parent: '/sys/fs/cgroup/ksapp', resolvConf: null };
  assert.equal(registrationProblem(reg, root), undefined);
  assert.match(registrationProblem({ ...reg, cgroup: root }, root)!, /is not qb right below/);
  assert.match(registrationProblem({ ...reg, parent: root, cgroup: '/sys/fs/cgroup/qb' }, root)!, /not below/);
  assert.match(registrationProblem({ ...reg, cgroup: '/sys/fs/cgroup/ksapp/../qb' }, root)!, /not qb right below/);
  assert.match(registrationProblem({ ...reg, name: '..', cgroup: '/sys/fs/cgroup' }, root)!, /app name/);
});

test('a started daemon gets a clean environment; KSAPP_ overrides only from root without sudo', () => {
  const env = { PATH: '/home/u/bin:/usr/bin', KSAPP_NFT: '/home/u/nft', NODE_OPTIONS: '--require x', HOME: '/root', LD_PRELOAD: '/x.so' };
  assert.deepEqual(daemonEnv(env, 0), { PATH: '/home/u/bin:/usr/bin', KSAPP_NFT: '/home/u/nft' });
  assert.deepEqual(daemonEnv({ ...env, SUDO_UID: '1000' }, 0), { PATH: SAFE_PATH });
  assert.deepEqual(daemonEnv({ ...env, SUDO_USER: 'u' }, 0), { PATH: SAFE_PATH });
  assert.deepEqual(daemonEnv({}, 0), { PATH: SAFE_PATH });
});

test('several tunnels: saved tunnels, socket requests and who may add a tunnel are checked', async () => {
  const { parseRequest } = await import('../src/ipc/validate.js');
  const { requireWatchedFor } = await import('../src/daemon/tunnel-rights.js');
  assert.equal(savedAppProblem({ ...app, tunnels: ['wg0', 'wg1'], rides: 'wg1', failback: false }, bounds), undefined);
  for (const [extra, why] of [
    [{ tunnels: ['wg0', 'wg0'], rides: 'wg0', failback: true }, /twice/], [{ tunnels: ['wg0'], rides: 'wg9', failback: true }, /rides/],
    [{ tunnels: ['../x'], rides: '../x', failback: true }, /interface names/], [{ tunnels: [], rides: 'wg0', failback: true }, /interface names/],
    [{ tunnels: ['wg0'], rides: 'wg0', failback: 'yes' }, /failback/],
  ] as const) assert.match(savedAppProblem({ ...app, ...extra }, bounds) ?? 'accepted', why);
  assert.deepEqual(parseRequest('{"id":1,"op":"register","tunnels":["wg0","wg1"]}'), { id: 1, op: 'register', tunnels: ['wg0', 'wg1'] });
  for (const bad of ['[]', '["wg0","wg0"]', '["a b"]', '"wg0"', JSON.stringify(Array.from({ length: 17 }, (_, i) => `wg${i}`))]) {
    assert.throws(() => parseRequest(`{"id":1,"op":"protect","pid":5,"tunnels":${bad}}`), /tunnels must be 1 to 16 distinct interface names/, bad);
  }
  // A user may name only tunnels the daemon watches: each new one takes one of its 16 slots.
  const sup = { tunnels: new Map([['wg0', {}]]) } as unknown as Parameters<typeof requireWatchedFor>[0];
  assert.doesNotThrow(() => requireWatchedFor(sup, ['wg0'], 1000));
  assert.doesNotThrow(() => requireWatchedFor(sup, ['wg7'], 0));
  assert.throws(() => requireWatchedFor(sup, ['wg0', 'wg7'], 1000), { code: 'NOT_AUTHORIZED', message: /does not watch wg7; only root may add a tunnel/ });
});
