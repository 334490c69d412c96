// The drop policies through the supervisor's one loop against fake groups (no kernel): a freeze that times
// out still counts as a freeze, so the tunnel coming back thaws it; a kill with --restart never restarts into
// a group that is still emptying; manual commands and transitions take turns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CgroupError } from '../cgroups/index.js';
import type { Effects } from '../src/supervisor/execute.js';
import { StateLoop } from '../src/supervisor/loop.js';
import type { App, SupervisorEvent, World } from '../src/supervisor/index.js';

interface FakeGroup {
  freezeFails?: boolean;
  /** Processes that take longer to die than the wait for them. */
  slowToDie?: boolean;
  calls: string[];
}

function fakeApp(name: string, over: Partial<App>, g: FakeGroup): App {
  const cgroup = {
    path: `/sys/fs/cgroup/ksapp/${name}`,
    freeze: async () => {
      g.calls.push('freeze');
      if (g.freezeFails) throw new CgroupError('timed out after 2000 ms waiting to freeze', { code: 'CGROUP_TIMEOUT' });
    },
    thaw: async () => { g.calls.push('thaw'); },
    sendKill: async () => { g.calls.push('kill'); },
    waitEmpty: async () => {
      g.calls.push('waitEmpty');
      if (g.slowToDie) throw new CgroupError('timed out after 2000 ms waiting for the group to empty', { code: 'CGROUP_TIMEOUT' });
    },
    events: async () => ({ populated: false, frozen: false }),
  };
  return {
    name, id: 1, onDrop: 'freeze', allowLan: false, restart: false, uid: 0, origin: 'run', addedAt: 0, tunnels: ['wg0'], rides: 'wg0', failback: true,
    state: 'running', blocked: false, manualFreeze: false, cgroup: cgroup as unknown as App['cgroup'], ...over,
  };
}

function fakeLoop(apps: App[], tunnel: 'up' | 'down' | 'unknown' = 'up') {
  const events: Array<Omit<SupervisorEvent, 'at'>> = [];
  const restarted: string[] = [];
  const world: World = {
    primary: 'wg0', tunnels: new Map([['wg0', { state: tunnel, since: 0, reason: tunnel === 'up' ? 'all sources healthy' : 'wg0 deleted', slot: 0, dns: { v4: [], v6: [] } }]]),
    apps: new Map(apps.map((a) => [a.name, a])), dns: { v4: [], v6: [] }, lan: { v4: [], v6: [] },
  };
  const effects = (w: World): Effects => ({
    world: w, sync: async () => undefined, routeIntoTunnel: async () => undefined, restoreRoute: async () => undefined,
    ensureRouting: async () => undefined, forgetFlows: async () => undefined, renewFlows: async () => undefined,
    restart: async (app) => { restarted.push(app.name); }, unwatch: () => undefined, record: (e) => { events.push(e); },
  });
  const loop = new StateLoop(world, effects);
  const app = (name: string): App => loop.current.apps.get(name)!;
  return { loop, events, restarted, app };
}

const down = { type: 'tunnel', iface: 'wg0', transition: { state: 'down', reason: 'wg0 deleted', at: 1 } } as const;
const up = { type: 'tunnel', iface: 'wg0', transition: { state: 'up', reason: 'all sources healthy', at: 2 } } as const;

test('a freeze that times out (a process in D state) still counts as frozen, and the tunnel coming back thaws it', async () => {
  const g: FakeGroup = { freezeFails: true, calls: [] };
  const { loop, events, app } = fakeLoop([fakeApp('qb', {}, g)]);
  await loop.dispatch(down);
  assert.equal(app('qb').state, 'frozen');
  assert.match(events.find((e) => e.type === 'app-frozen')?.detail ?? '', /tunnel wg0 down: wg0 deleted; not every process has stopped yet \(timed out/);
  await loop.dispatch(up);
  assert.deepEqual(g.calls, ['freeze', 'thaw']);
  assert.equal(app('qb').state, 'running');
});

test('a manual freeze that times out is still a manual freeze: the tunnel coming back leaves it frozen', async () => {
  const g: FakeGroup = { freezeFails: true, calls: [] };
  const { loop, app } = fakeLoop([fakeApp('qb', {}, g)], 'down');
  await loop.dispatch({ type: 'freeze', name: 'qb' });
  assert.equal(app('qb').state, 'frozen');
  assert.equal(app('qb').manualFreeze, true);
  await loop.dispatch(up);
  assert.deepEqual(g.calls, ['freeze']);
});

test('kill with --restart: a tunnel back while the group still empties restarts only once it is empty', async () => {
  const g: FakeGroup = { slowToDie: true, calls: [] };
  const { loop, restarted, app } = fakeLoop([fakeApp('dl', { onDrop: 'kill', restart: true }, g)]);
  await assert.rejects(loop.dispatch(down), /waiting for the group to empty/);
  assert.equal(app('dl').state, 'killed');
  await loop.dispatch(up);
  assert.deepEqual(restarted, [], 'not restarted while processes are still dying');
  assert.equal(app('dl').state, 'killed');
  // The group's watcher says it is empty at last.
  await loop.dispatch({ type: 'emptied', name: 'dl' });
  assert.deepEqual(restarted, ['dl']);
  assert.deepEqual(g.calls, ['kill', 'waitEmpty']);
  assert.equal(app('dl').state, 'running');
});

test('a manual freeze racing a transition waits its turn: the last word is the manual freeze', async () => {
  const g: FakeGroup = { calls: [] };
  const { loop, app } = fakeLoop([fakeApp('qb', { state: 'frozen' }, g)], 'down');
  // The transition is taken first, the manual freeze second; in that order they act.
  await Promise.all([loop.dispatch(up), loop.dispatch({ type: 'freeze', name: 'qb' })]);
  assert.deepEqual(g.calls, ['thaw', 'freeze']);
  assert.equal(app('qb').state, 'frozen');
  assert.equal(app('qb').manualFreeze, true);
});

test('kill with --restart: processes that die within the wait are restarted by the tunnel coming back', async () => {
  const g: FakeGroup = { calls: [] };
  const { loop, restarted, events, app } = fakeLoop([fakeApp('dl', { onDrop: 'kill', restart: true }, g)]);
  await loop.dispatch(down);
  await loop.dispatch(up);
  assert.deepEqual(restarted, ['dl']);
  assert.equal(app('dl').state, 'running');
  assert.deepEqual(events.map((e) => e.type), ['app-killed', 'tunnel-down', 'app-restart', 'tunnel-up']);
});

test('a refused command changes nothing and does not stop the loop', async () => {
  const g: FakeGroup = { calls: [] };
  const { loop, app } = fakeLoop([fakeApp('qb', {}, g)], 'up');
  await loop.dispatch(down);
  await assert.rejects(loop.dispatch({ type: 'thaw', name: 'qb' }), { code: 'TUNNEL_DOWN' });
  await assert.rejects(loop.dispatch({ type: 'freeze', name: 'nope' }), { code: 'APP_UNKNOWN', message: /no protected app named "nope"/ });
  assert.equal(app('qb').state, 'frozen');
  await loop.dispatch(up);
  assert.equal(app('qb').state, 'running');
  assert.deepEqual(g.calls, ['freeze', 'thaw']);
});
