// The supervisor's state machine on literal input sequences (pure: no kernel, no loop): what each app becomes
// and which actions the loop is told to run, in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { step, type Action, type App, type Input, type World } from '../src/supervisor/index.js';

function app(name: string, over: Partial<App> = {}): App {
  return {
    name, id: 1, onDrop: 'freeze', allowLan: false, restart: false, uid: 0, origin: 'run', addedAt: 0, tunnels: ['wg0'], rides: 'wg0', failback: true,
    state: 'running', blocked: false, manualFreeze: false, cgroup: { path: `/cg/ksapp/${name}` } as App['cgroup'], ...over,
  };
}

type TunnelLevel = 'up' | 'down' | 'unknown';

function world(apps: App[], tunnel: TunnelLevel = 'up'): World {
  return {
    primary: 'wg0', tunnels: new Map([['wg0', { state: tunnel, since: 0, reason: 'starting', slot: 0, dns: { v4: [], v6: [] } }]]),
    apps: new Map(apps.map((a) => [a.name, a])), dns: { v4: [], v6: [] }, lan: { v4: [], v6: [] },
  };
}

/** One line per action, as a reader would say it. */
function say(a: Action): string {
  switch (a.type) {
    case 'freeze': case 'thaw': return `${a.type} ${a.orders.map((o) => o.name).join(',')}`;
    case 'kill': return `kill ${a.orders.map((o) => o.name).join(',')}${a.wait ? ' and wait' : ''}`;
    case 'log': return `log ${a.event.type}${a.event.app ? ` ${a.event.app}` : ''}`;
    case 'restart': return `restart ${a.name}`;
    case 'drop-group': return `drop ${a.app.name}`;
    case 'reacted': return `reacted ${a.state}`;
    case 'restore-route': return `restore ${a.route}`;
    case 'route-into-tunnel': return `route-into ${a.iface}`;
    case 'forget-flows': return `forget ${a.marks.map((m) => m.toString(16)).join(',')}`;
    default: return a.type;
  }
}

/** Steps through the inputs; returns the last world and every action, in order. */
function run(w: World, inputs: Input[]): { world: World; actions: string[] } {
  const actions: string[] = [];
  for (const input of inputs) {
    const next = step(w, input);
    w = next.world;
    actions.push(...next.actions.map(say));
  }
  return { world: w, actions };
}

const down = (reason = 'wg0 deleted'): Input => ({ type: 'tunnel', iface: 'wg0', transition: { state: 'down', reason, at: 1 } });
const up: Input = { type: 'tunnel', iface: 'wg0', transition: { state: 'up', reason: 'all sources healthy', at: 2 } };
const states = (w: World): Record<string, string> => Object.fromEntries([...w.apps.values()].map((a) => [a.name, a.state]));

test('down: each policy in one step (freezes together, kills waited for, blocks in one transaction); up undoes it', () => {
  const w = world([app('qb'), app('dl', { onDrop: 'kill' }), app('br', { onDrop: 'block' })]);
  const d = run(w, [down()]);
  assert.deepEqual(states(d.world), { qb: 'frozen', dl: 'killed', br: 'blocked' });
  assert.deepEqual(d.actions, ['freeze qb', 'kill dl and wait', 'sync', 'log app-blocked br', 'reacted down']);
  assert.equal(d.world.tunnels.get('wg0')?.reason, 'wg0 deleted');
  const u = run(d.world, [up]);
  assert.deepEqual(states(u.world), { qb: 'running', dl: 'running', br: 'running' });
  assert.deepEqual(u.actions, ['route-into wg0', 'sync', 'thaw qb', 'log app-unblocked br', 'reacted up']);
});

test('the same state twice is no transition: nothing to do', () => {
  const w = world([app('qb')], 'down');
  assert.deepEqual(run(w, [down()]).actions, []);
});

test('a freeze counts from the moment it is ordered: one that times out is still thawed when the tunnel is back', () => {
  // The machine does not wait for the kernel: whatever the freeze's outcome, the app is frozen and `up` thaws it.
  const { world: w, actions } = run(world([app('qb')]), [down(), up]);
  assert.equal(w.apps.get('qb')?.state, 'running');
  assert.deepEqual(actions.filter((a) => /freeze|thaw/.test(a)), ['freeze qb', 'thaw qb']);
});

test('kill + restart: an up while the group still empties does not restart; the group emptying does', () => {
  const w = world([app('dl', { onDrop: 'kill', restart: true })]);
  const early = run(w, [down(), up]);
  assert.equal(early.world.apps.get('dl')?.state, 'killed');
  assert.ok(!early.actions.some((a) => a.startsWith('restart')), 'no restart beside dying processes');
  const later = run(early.world, [{ type: 'emptied', name: 'dl' }]);
  assert.deepEqual(later.actions, ['log app-restart dl', 'restart dl']);
  assert.equal(later.world.apps.get('dl')?.state, 'running');
});

test('kill + restart: emptied while still down waits for up, and restarts then', () => {
  const w = world([app('dl', { onDrop: 'kill', restart: true })]);
  const r = run(w, [down(), { type: 'emptied', name: 'dl' }]);
  assert.deepEqual(r.actions, ['kill dl and wait', 'reacted down']);
  assert.equal(r.world.apps.get('dl')?.emptied, true);
  assert.deepEqual(run(r.world, [up]).actions, ['route-into wg0', 'log app-restart dl', 'restart dl', 'reacted up']);
});

test('flapping during a kill: one kill, one restart, never a second instance', () => {
  const w = world([app('dl', { onDrop: 'kill', restart: true })]);
  const r = run(w, [down(), up, down('3 probes unanswered'), up, down(), { type: 'emptied', name: 'dl' }, up]);
  assert.equal(r.actions.filter((a) => a.startsWith('kill')).length, 1, 'killed once: it never ran again in between');
  assert.equal(r.actions.filter((a) => a.startsWith('restart')).length, 1);
  assert.equal(r.world.apps.get('dl')?.state, 'running');
  // The restarted instance is killed by the next loss.
  assert.deepEqual(run(r.world, [down()]).actions, ['kill dl and wait', 'reacted down']);
});

test('a kill by request is final: its group emptying removes the app, also with restart', () => {
  const w = world([app('dl', { onDrop: 'kill', restart: true })]);
  const r = run(w, [{ type: 'kill', name: 'dl' }, { type: 'emptied', name: 'dl' }]);
  assert.deepEqual(r.actions, ['kill dl', 'log app-exited dl', 'drop dl', 'sync', 'log app-removed dl']);
  assert.equal(r.world.apps.size, 0);
});

test('a manual freeze outlives the tunnel coming back; a thaw by request is refused while down', () => {
  const w = world([app('qb')]);
  const r = run(w, [{ type: 'freeze', name: 'qb' }, down(), up]);
  assert.equal(r.world.apps.get('qb')?.state, 'frozen');
  assert.deepEqual(r.actions.filter((a) => /freeze|thaw/.test(a)), ['freeze qb']);
  const d = run(r.world, [down()]).world;
  assert.throws(() => step(d, { type: 'thaw', name: 'qb' }), { code: 'TUNNEL_DOWN', message: /the tunnel is down \(wg0 deleted\)/ });
  assert.deepEqual(run(r.world, [{ type: 'thaw', name: 'qb' }]).world.apps.get('qb')?.state, 'running');
});

test('a manual thaw racing a transition: in the loop, whichever comes second sees what the first did', () => {
  const w = world([app('qb', { state: 'frozen', manualFreeze: true })]);
  // thaw then down: frozen again by the policy.
  assert.equal(run(w, [{ type: 'thaw', name: 'qb' }, down()]).world.apps.get('qb')?.state, 'frozen');
  // down then thaw: the thaw is refused, the app stays frozen.
  const d = run(w, [down()]).world;
  assert.throws(() => step(d, { type: 'thaw', name: 'qb' }), { code: 'TUNNEL_DOWN' });
  assert.equal(d.apps.get('qb')?.state, 'frozen');
});

test('an app added while the tunnel is not up starts under its policy; a fresh kill group waits empty', () => {
  const w = world([], 'down');
  const f = run(w, [{ type: 'add', app: app('qb'), empty: true }]);
  assert.deepEqual(f.actions, ['sync', 'log app-added qb', 'freeze qb']);
  const k = run(w, [{ type: 'add', app: app('dl', { onDrop: 'kill', restart: true }), empty: true }, up]);
  assert.deepEqual(k.actions, ['sync', 'log app-added dl', 'route-into wg0', 'reacted up']);
  assert.equal(k.world.apps.get('dl')?.state, 'running', 'may run now, and the next loss kills it');
  const inPlace = run(w, [{ type: 'add', app: app('unit', { onDrop: 'kill', inPlace: '/cg/system.slice/x.service' }), empty: false }]);
  assert.deepEqual(inPlace.actions, ['sync', 'log app-added unit', 'kill unit and wait']);
});

test('needs-restart: frozen, not thawed by the tunnel, not thawed by request', () => {
  const r = run(world([app('qb')]), [{ type: 'unsafe-sockets', name: 'qb', detail: '1 socket' }, down(), up]);
  assert.equal(r.world.apps.get('qb')?.state, 'needs-restart');
  assert.deepEqual(r.actions.filter((a) => /freeze|thaw/.test(a)), ['freeze qb']);
  assert.throws(() => step(r.world, { type: 'thaw', name: 'qb' }), { code: 'NEEDS_RESTART' });
});

test('an app whose group empties is removed; its rules go in the same step', () => {
  const r = run(world([app('qb'), app('br')]), [{ type: 'emptied', name: 'qb' }, { type: 'emptied', name: 'qb' }]);
  assert.deepEqual(r.actions, ['log app-exited qb', 'drop qb', 'sync', 'log app-removed qb']);
  assert.deepEqual([...r.world.apps.keys()], ['br']);
});

test('start grace: a tunnel never seen up counts as down, with the monitor\'s reason; once known, nothing', () => {
  const w = world([app('qb')], 'unknown');
  const r = run(w, [{ type: 'start-grace', iface: 'wg0', monitorDown: true, why: 'wg0 does not exist', at: 5 }]);
  assert.equal(r.world.tunnels.get('wg0')?.reason, 'the tunnel did not come up: wg0 does not exist');
  assert.deepEqual(r.actions, ['freeze qb', 'reacted down']);
  assert.deepEqual(run(world([app('qb')], 'up'), [{ type: 'start-grace', iface: 'wg0', monitorDown: true, why: undefined, at: 5 }]).actions, []);
});

test('a better reason while down is logged once; while up it is ignored', () => {
  const r = run(world([], 'down'), [{ type: 'tunnel-reason', iface: 'wg0', reason: 'wg0 deleted' }, { type: 'tunnel-reason', iface: 'wg0', reason: 'wg0 deleted' }]);
  assert.deepEqual(r.actions, ['log tunnel-reason']);
  assert.deepEqual(run(world([], 'up'), [{ type: 'tunnel-reason', iface: 'wg0', reason: 'x' }]).actions, []);
});

test('our default route removed while up is put back; while down, or another table, nothing', () => {
  const gone = (type: string, table = '27507'): Input => ({ type: 'route', change: { deleted: true, type, dst: 'default', table } });
  assert.deepEqual(run(world([], 'up'), [gone('unreachable'), gone('unicast'), gone('unicast', 'main')]).actions, ['restore unreachable', 'restore tunnel']);
  assert.deepEqual(run(world([], 'down'), [gone('unicast')]).actions, []);
});

test('adoptions add up: a second adoption into the same app keeps the first one\'s processes', () => {
  const first = { group: '/user.slice', moved: [{ pid: 1, from: '/a' }], gone: [] };
  const r = run(world([app('qb')]), [
    { type: 'adopted', name: 'qb', adoption: first as never },
    { type: 'adopted', name: 'qb', adoption: { ...first, moved: [{ pid: 2, from: '/b' }] } as never },
  ]);
  assert.deepEqual(r.world.apps.get('qb')?.adoption?.moved, [{ pid: 1, from: '/a' }, { pid: 2, from: '/b' }]);
});

test('ids are given in turn: two apps added at once never share one (it is their packet mark); a taken name is refused', () => {
  const r = run(world([]), [{ type: 'add', app: app('a', { id: 0 }), empty: true }, { type: 'add', app: app('b', { id: 0 }), empty: true }]);
  assert.deepEqual([...r.world.apps.values()].map((a) => [a.name, a.id]), [['a', 1], ['b', 2]]);
  assert.throws(() => step(r.world, { type: 'add', app: app('a', { id: 0 }), empty: true }), { code: 'APP_EXISTS' });
});
