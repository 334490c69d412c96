// Several tunnels in the supervisor's state machine (pure): each app rides its own tunnel, fails over
// along its list, fails back when allowed, and (multi-hop) a tunnel is healthy only while its outer hop is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markFor } from '../src/firewall/index.js';
import { step, type Action, type App, type Input, type World } from '../src/supervisor/index.js';

const none = { v4: [], v6: [] };
function app(name: string, tunnels: string[], over: Partial<App> = {}): App {
  return {
    name, id: over.id ?? 1, onDrop: 'freeze', allowLan: false, restart: false, uid: 0, origin: 'run', addedAt: 0, tunnels, rides: tunnels[0]!, failback: true,
    state: 'running', blocked: false, manualFreeze: false, cgroup: { path: `/cg/ksapp/${name}` } as App['cgroup'], ...over,
  };
}
function world(apps: App[], tunnels: Record<string, { state?: 'up' | 'down'; via?: string }>): World {
  return {
    primary: 'wg0',
    tunnels: new Map(Object.entries(tunnels).map(([iface, t], slot) => [iface, { state: t.state ?? 'up', since: 0, reason: 'fine', slot, dns: none, ...(t.via ? { via: t.via } : {}) }])),
    apps: new Map(apps.map((a) => [a.name, a])), dns: none, lan: none,
  };
}
const say = (a: Action): string => {
  switch (a.type) {
    case 'freeze': case 'thaw': return `${a.type} ${a.orders.map((o) => o.name).join(',')}`;
    case 'kill': return `kill ${a.orders.map((o) => o.name).join(',')}`;
    case 'log': return `log ${a.event.type}${a.event.app ? ` ${a.event.app}` : ''}`;
    case 'reacted': return `reacted ${a.iface} ${a.state}`;
    case 'route-into-tunnel': return `route-into ${a.iface}`;
    case 'forget-flows': return `forget ${a.marks.map((m) => `0x${m.toString(16)}`).join(',')}`;
    default: return a.type;
  }
};
function run(w: World, inputs: Input[]): { world: World; actions: string[] } {
  const actions: string[] = [];
  for (const input of inputs) {
    const next = step(w, input);
    w = next.world;
    actions.push(...next.actions.map(say));
  }
  return { world: w, actions };
}
const t = (iface: string, state: 'up' | 'down', reason = state === 'up' ? 'all sources healthy' : `${iface} deleted`): Input =>
  ({ type: 'tunnel', iface, transition: { state, reason, at: 1 } });
const where = (w: World): Record<string, string> => Object.fromEntries([...w.apps.values()].map((a) => [a.name, `${a.state}@${a.rides}`]));

test('a tunnel going down touches only the apps riding it', () => {
  const w = world([app('work', ['wg0'], { id: 1 }), app('torrent', ['wg1'], { id: 2 })], { wg0: {}, wg1: {} });
  const r = run(w, [t('wg1', 'down')]);
  assert.deepEqual(where(r.world), { work: 'running@wg0', torrent: 'frozen@wg1' });
  assert.deepEqual(r.actions, ['freeze torrent', 'reacted wg1 down']);
});

test('failover: frozen while it moves, its old flows forgotten, thawed on the next healthy tunnel; none healthy: its policy', () => {
  const w = world([app('qb', ['wg0', 'wg1'], { id: 3 })], { wg0: {}, wg1: {} });
  const r = run(w, [t('wg0', 'down')]);
  assert.deepEqual(where(r.world), { qb: 'running@wg1' });
  assert.deepEqual(r.actions, ['freeze qb', 'sync', `forget 0x${markFor(3, 0).toString(16)}`, 'thaw qb', 'log app-moved qb', 'reacted wg0 down']);
  const both = run(r.world, [t('wg1', 'down')]);
  assert.deepEqual(where(both.world), { qb: 'frozen@wg1' });
});

test('failback: back to the first tunnel when it returns; with failback off it stays', () => {
  const w = world([app('qb', ['wg0', 'wg1'], { id: 3 }), app('dl', ['wg0', 'wg1'], { id: 4, failback: false })], { wg0: {}, wg1: {} });
  const r = run(w, [t('wg0', 'down'), t('wg0', 'up')]);
  assert.deepEqual(where(r.world), { qb: 'running@wg0', dl: 'running@wg1' });
});

test('an app under its policy comes back on whichever tunnel of its list returns first', () => {
  const w = world([app('qb', ['wg0', 'wg1'])], { wg0: {}, wg1: {} });
  const r = run(w, [t('wg1', 'down'), t('wg0', 'down'), t('wg1', 'up')]);
  assert.deepEqual(where(r.world), { qb: 'running@wg1' });
  assert.ok(r.actions.includes('thaw qb'));
  // Then the first one returns: failback moves it there.
  assert.deepEqual(where(run(r.world, [t('wg0', 'up')]).world), { qb: 'running@wg0' });
});

test('block on two tunnels: blocked when both are gone, unblocked (and moved) when one returns', () => {
  const w = world([app('br', ['wg0', 'wg1'], { onDrop: 'block' })], { wg0: {}, wg1: {} });
  const r = run(w, [t('wg0', 'down'), t('wg1', 'down')]);
  assert.deepEqual(where(r.world), { br: 'blocked@wg1' });
  const back = run(r.world, [t('wg0', 'up')]);
  assert.deepEqual(where(back.world), { br: 'running@wg0' });
  assert.ok(back.actions.includes('sync') && back.actions.includes('log app-unblocked br'));
});

test('multi-hop: the outer hop failing applies the inner tunnel\'s apps\' policy, and its return undoes it', () => {
  const w = world([app('inner', ['wg1'], { id: 1 }), app('outer', ['wg0'], { id: 2 })], { wg0: {}, wg1: { via: 'wg0' } });
  const r = run(w, [t('wg0', 'down')]);
  assert.deepEqual(where(r.world), { inner: 'frozen@wg1', outer: 'frozen@wg0' });
  const back = run(r.world, [t('wg0', 'up')]);
  assert.deepEqual(where(back.world), { inner: 'running@wg1', outer: 'running@wg0' });
});

test('a manual freeze moves with its app and stays', () => {
  const w = world([app('qb', ['wg0', 'wg1'], { state: 'frozen', manualFreeze: true })], { wg0: {}, wg1: {} });
  const r = run(w, [t('wg0', 'down')]);
  assert.deepEqual(where(r.world), { qb: 'frozen@wg1' });
  assert.ok(!r.actions.some((a) => a.startsWith('thaw')), 'never thawed by a move');
});

test('a new app starts on the first healthy tunnel of its list', () => {
  const w = world([], { wg0: { state: 'down' }, wg1: {} });
  const r = run(w, [{ type: 'add', app: app('qb', ['wg0', 'wg1']), empty: true }]);
  assert.deepEqual(where(r.world), { qb: 'running@wg1' });
});

test('a tunnel added later is unknown until its monitor speaks, and gets its routing first', () => {
  const w = world([], { wg0: {} });
  const r = run(w, [{ type: 'tunnel-added', iface: 'wg5', slot: 1, dns: none }]);
  assert.equal(r.world.tunnels.get('wg5')?.state, 'unknown');
  assert.deepEqual(r.actions, ['ensure-routing', 'sync']);
});

test('a route removed from a second tunnel\'s table is put back into that tunnel', () => {
  const w = world([], { wg0: {}, wg1: {} });
  const next = step(w, { type: 'route', change: { deleted: true, type: 'unicast', dst: 'default', table: '27508' } });
  assert.deepEqual(next.actions, [{ type: 'restore-route', route: 'tunnel', iface: 'wg1', slot: 1, what: 'unicast default route in table 27508' }]);
});
