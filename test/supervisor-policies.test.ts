// The drop policies against fake groups (pure: no kernel): a freeze that times out still counts as a
// freeze, so the tunnel coming back thaws it; a kill with --restart never restarts into a group that is
// still emptying; manual commands and transitions take turns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CgroupError } from '../cgroups/index.js';
import { freezeApp, type App, type Supervisor } from '../src/supervisor/index.js';
import { onTunnelDown, onTunnelUp } from '../src/supervisor/policies.js';
import { SerialQueue } from '../src/supervisor/serial.js';

interface FakeGroup {
  freezeFails?: boolean;
  emptied?: Promise<void>;
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
    waitEmpty: async () => { g.calls.push('waitEmpty'); await g.emptied; g.calls.push('empty'); },
    events: async () => ({ populated: false, frozen: false }),
  };
  return {
    name, id: 1, onDrop: 'freeze', allowLan: false, restart: false, uid: 0, origin: 'run', addedAt: 0,
    state: 'running', blocked: false, manualFreeze: false, cgroup: cgroup as unknown as App['cgroup'], ...over,
  };
}

function fakeSup(restarted: string[] = []): Supervisor & { events: Array<{ type: string; app?: string; detail?: string }> } {
  const events: Array<{ type: string; app?: string; detail?: string }> = [];
  const actions = new SerialQueue();
  const apps = new Map<string, App>();
  return {
    events, apps, tunnel: { state: 'down', since: 0, reason: 'wg0 deleted' },
    options: { tunnelIface: 'wg0', restart: async (app: App) => { restarted.push(app.name); } },
    record: (e: { type: string; app?: string; detail?: string }) => { events.push(e); },
    sync: async () => undefined,
    serially: <T>(task: () => Promise<T>) => actions.run(task),
  } as unknown as Supervisor & { events: typeof events };
}

test('a freeze that times out (a process in D state) still counts as frozen, and the tunnel coming back thaws it', async () => {
  const g: FakeGroup = { freezeFails: true, calls: [] };
  const app = fakeApp('qb', {}, g);
  const sup = fakeSup();
  await onTunnelDown(sup, [app]);
  assert.equal(app.state, 'frozen');
  assert.match(sup.events.at(-1)?.detail ?? '', /tunnel wg0 down: wg0 deleted; not every process has stopped yet \(timed out/);
  await onTunnelUp(sup, [app]);
  assert.deepEqual(g.calls, ['freeze', 'thaw']);
  assert.equal(app.state, 'running');
});

test('a manual freeze that times out is still a manual freeze: the tunnel coming back leaves it frozen', async () => {
  const g: FakeGroup = { freezeFails: true, calls: [] };
  const sup = fakeSup();
  const app = fakeApp('qb', {}, g);
  sup.apps.set('qb', app);
  await freezeApp(sup, 'qb');
  assert.equal(app.state, 'frozen');
  assert.equal(app.manualFreeze, true);
  await onTunnelUp(sup, [app]);
  assert.deepEqual(g.calls, ['freeze']);
});

test('kill with --restart: a tunnel back while the group still empties restarts only once it is empty', async () => {
  let empty!: () => void;
  const g: FakeGroup = { emptied: new Promise<void>((r) => { empty = r; }), calls: [] };
  const restarted: string[] = [];
  const sup = fakeSup(restarted);
  const app = fakeApp('dl', { onDrop: 'kill', restart: true, state: 'killed' }, g);
  const up = onTunnelUp(sup, [app]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(restarted, [], 'not restarted while processes are still dying');
  empty();
  await up;
  assert.deepEqual(restarted, ['dl']);
  assert.deepEqual(g.calls, ['waitEmpty', 'empty']);
  assert.equal(app.state, 'running');
});

test('a manual freeze racing a transition waits its turn: the last word is the manual freeze', async () => {
  const g: FakeGroup = { calls: [] };
  const sup = fakeSup();
  const app = fakeApp('qb', { state: 'frozen' }, g);
  sup.apps.set('qb', app);
  sup.tunnel = { state: 'up', since: 0, reason: 'all sources healthy' };
  // The transition is queued first, the manual freeze second; in that order they act.
  const up = sup.serially(() => onTunnelUp(sup, [app]));
  const manual = freezeApp(sup, 'qb');
  await Promise.all([up, manual]);
  assert.deepEqual(g.calls, ['thaw', 'freeze']);
  assert.equal(app.state, 'frozen');
  assert.equal(app.manualFreeze, true);
});
