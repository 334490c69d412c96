// Pure parts of the dashboard: number formats, looks, columns, row budgets, rates, the model and the keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appColumns, appCells, fit, MARKER_WIDTH } from '../tui/format/columns.js';
import { eventLook, eventParts } from '../tui/format/events.js';
import { appWindow, shareRows } from '../tui/format/layout.js';
import { APP_STATE_LOOKS, appStateLook, tunnelLook } from '../tui/format/states.js';
import { formatBytes, formatCount, formatDuration, formatMs, formatRate } from '../tui/format/units.js';
import { offlineFeedback, resultFeedback } from '../tui/feedback.js';
import { initialUi, interpretKey, selectedIndex, type Ui } from '../tui/keys.js';
import { initialModel, reduceAll, reduceModel, RATE_WINDOW_MS } from '../tui/model.js';
import { computeRates } from '../tui/rates.js';
import { colorAllowed } from '../tui/color.js';
import type { SupervisorEvent } from '../src/supervisor/types.js';
import { app, event, NOW, status } from './tui-fixtures.js';

test('counts, bytes, rates and durations fit their cells', () => {
  assert.deepEqual([0, 999, 1000, 12_345, 999_700, 7_800_000].map(formatCount), ['0', '999', '1.0k', '12k', '1.0M', '7.8M']);
  assert.deepEqual([512, 1234, 34_000_000, 1.2e9].map(formatBytes), ['512B', '1.2kB', '34MB', '1.2GB']);
  assert.equal(formatRate(null, 'bytes'), '–');
  assert.equal(formatRate(0.5, 'count'), '<1/s');
  assert.equal(formatRate(1_250_000, 'bytes'), '1.3MB/s');
  assert.deepEqual([850, 4200, 12_000, 312_000, 3 * 3600_000 + 240_000, 50 * 3600_000].map(formatDuration),
    ['850ms', '4.2s', '12s', '5m 12s', '3h 04m', '2d 2h']);
  assert.deepEqual([null, 0.42, 12.4, 1300].map(formatMs), ['–', '0.4 ms', '12 ms', '1.3 s']);
  for (const n of [0, 9, 99_999, 1e12, 123_456_789]) assert.ok(formatBytes(n).length <= 5 && formatCount(n).length <= 5, String(n));
});

test('every app state has its own symbol, word and colour', () => {
  const looks = Object.entries(APP_STATE_LOOKS);
  assert.deepEqual(looks.map(([s]) => s).sort(), ['blocked', 'exited', 'frozen', 'killed', 'needs-restart', 'running']);
  assert.equal(new Set(looks.map(([, l]) => l.symbol)).size, looks.length, 'symbols tell states apart without colour');
  for (const [state, look] of looks) assert.equal(look.label, state);
  assert.equal(appStateLook('running').tone, 'green');
  assert.equal(appStateLook('killed').tone, 'red');
  assert.deepEqual(appStateLook('hibernating'), { symbol: '?', label: 'hibernating', tone: 'gray' });
  assert.deepEqual(tunnelLook('up'), { symbol: '▲', label: 'UP', tone: 'green' });
  assert.deepEqual(tunnelLook('down'), { symbol: '▼', label: 'DOWN', tone: 'red' });
  assert.equal(tunnelLook('up', true).tone, 'gray', 'a stale state is not shown green');
});

test('event lines: kill switch, recoveries, apps, config', () => {
  assert.equal(eventLook('tunnel-down').label, 'kill switch on');
  assert.equal(eventLook('tunnel-up').label, 'tunnel back');
  assert.equal(eventLook('config-error').tone, 'red');
  assert.equal(eventLook('something-new').label, 'something-new');
  // Every type the supervisor records has a look of its own (the compiler checks the list is complete).
  const types: Record<SupervisorEvent['type'], true> = {
    'tunnel-down': true, 'tunnel-up': true, 'app-added': true, 'app-exited': true, 'app-frozen': true, 'app-thawed': true,
    'app-killed': true, 'app-blocked': true, 'app-unblocked': true, 'app-removed': true, 'app-recovered': true,
    'app-restart': true, 'config-reloaded': true, 'config-error': true, 'route-restored': true, 'app-adopted': true, 'app-needs-restart': true, 'dns-bypass': true, 'exec-watch': true, 'exec-guard': true, 'state-dropped': true, 'tunnel-reason': true, 'monitor-warning': true, 'app-moved': true, 'tunnel-reconnect': true, hook: true, 'app-allow': true, 'allow-resolved': true, error: true,
  };
  for (const type of Object.keys(types)) assert.notEqual(eventLook(type).symbol, '·', type);
  const p = eventParts(event('tunnel-down', 0, { app: 'qbittorrent', detail: 'wg0 deleted', reactionMs: 3.25 }));
  assert.equal(p.text, 'qbittorrent: wg0 deleted (reacted in 3.3 ms)');
  assert.match(p.time, /^\d\d:\d\d:\d\d$/);
});

test('apps table: 80 columns keep every required column; wider terminals add the packet and drop rates', () => {
  const width = (cols: ReturnType<typeof appColumns>) => MARKER_WIDTH + cols.reduce((s, c, i) => s + c.width + (i === 0 ? 0 : 1), 0);
  const at80 = appColumns(80);
  assert.deepEqual(at80.map((c) => c.key), ['name', 'state', 'policy', 'user', 'procs', 'packets', 'bytes', 'byteRate', 'dropped']);
  assert.ok(width(at80) <= 80);
  assert.ok(at80[0]!.width >= 14, 'names stay readable at 80 columns');
  const at120 = appColumns(120);
  assert.ok(at120.some((c) => c.key === 'packetRate') && at120.some((c) => c.key === 'dropRate'));
  assert.ok(width(at120) <= 120);
  assert.equal(appCells(app('a', { state: 'needs-restart' }), undefined).state, '↻ needs-restart');
  assert.equal(appCells(app('qb', { kind: 'container' }), undefined).name, 'qb ‹container›', 'a forwarded source says what it is');
  assert.equal(appCells(app('qb', { kind: 'process' }), undefined).name, 'qb');
  assert.equal(fit('transmission-daemon', 8), 'transmi…');
  assert.equal(fit('42', 5, 'right'), '   42');
});

test('row budget: apps get what they need, the log keeps a few lines, the rest goes to the log', () => {
  assert.deepEqual(shareRows(17, 50, 30), { appRows: 13, eventRows: 4 });
  assert.deepEqual(shareRows(17, 3, 30), { appRows: 3, eventRows: 8 });
  assert.deepEqual(shareRows(17, 0, 0), { appRows: 1, eventRows: 1 });
  assert.deepEqual(shareRows(Number.POSITIVE_INFINITY, 50, 3), { appRows: 50, eventRows: 3 });
  assert.deepEqual(appWindow(5, 10, 0), { start: 0, end: 5, hidden: 0 });
  assert.deepEqual(appWindow(50, 13, 0), { start: 0, end: 12, hidden: 38 });
  assert.deepEqual(appWindow(50, 13, 49), { start: 38, end: 50, hidden: 38 });
  assert.deepEqual(appWindow(50, 13, 20), { start: 9, end: 21, hidden: 38 });
});

test('rates: counter growth over the time between two statuses; unknown for new apps and reset counters', () => {
  const before = status([
    app('a', { packets: { tunnel: 1000, dropped: 5 }, bytes: { tunnel: 1_000_000 } }),
    app('b', { packets: { tunnel: 500, dropped: 0 }, bytes: { tunnel: 9_000 } }),
  ]);
  const after = status([
    app('a', { packets: { tunnel: 3000, dropped: 9 }, bytes: { tunnel: 5_000_000 } }),
    app('b', { packets: { tunnel: 10, dropped: 0 }, bytes: { tunnel: 100 } }),
    app('c'),
  ]);
  const rates = computeRates({ status: before, at: 10_000 }, { status: after, at: 12_000 });
  assert.deepEqual(rates.get('a'), { packetsPerSec: 1000, bytesPerSec: 2_000_000, droppedPerSec: 2 });
  assert.deepEqual(rates.get('b'), { packetsPerSec: null, bytesPerSec: null, droppedPerSec: 0 });
  assert.equal(rates.has('c'), false);
  assert.equal(computeRates({ status: before, at: 5 }, { status: after, at: 5 }).size, 0);
});

test('model: statuses bring rates once the window has passed; events fill in between; connection changes', () => {
  const s1 = status([app('a', { packets: { tunnel: 0, dropped: 0 } })]);
  const s2 = status([app('a', { packets: { tunnel: 100, dropped: 0 } })]);
  const s3 = status([app('a', { packets: { tunnel: 300, dropped: 0 } })]);
  const msg = (s: typeof s1, at: number) => ({ kind: 'message' as const, message: { type: 'status' as const, status: s }, at });
  let m = reduceAll(initialModel(0), [msg(s1, 1000), msg(s2, 1000 + RATE_WINDOW_MS / 2)]);
  assert.equal(m.rates.size, 0, 'too soon to measure');
  assert.equal(m.connection.state, 'connected');
  m = reduceModel(m, msg(s3, 3000));
  assert.equal(m.rates.get('a')?.packetsPerSec, 150);
  const e = event('app-exited', 1, { app: 'a' });
  m = reduceModel(m, { kind: 'message', message: { type: 'event', event: e }, at: 3001 });
  m = reduceModel(m, { kind: 'message', message: { type: 'event', event: e }, at: 3002 });
  assert.deepEqual(m.events, [e], 'a repeated event is shown once');
  m = reduceModel(m, { kind: 'connection', connected: false, reason: 'ECONNREFUSED', at: 4000 });
  assert.deepEqual(m.connection, { state: 'lost', reason: 'ECONNREFUSED', since: 4000 });
  assert.equal(m.rates.size, 0, 'no rates across an outage');
  assert.equal(m.status, s3, 'the last known status stays on screen');
  assert.equal(reduceModel(m, { kind: 'connection', connected: false, reason: 'ECONNREFUSED', at: 5000 }), m);
  m = reduceModel(m, { kind: 'connection', connected: true, at: 6000 });
  assert.deepEqual(m.connection, { state: 'connected', reason: undefined, since: 6000 });
});

test('keys: j and arrows move, f and t act at once, k and r ask first, only y confirms', () => {
  const names = ['a', 'b', 'c'];
  const press = (ui: Ui, input: string, key = {}) => interpretKey(ui, input, key, names);
  let ui = press(initialUi, 'j').ui;
  assert.equal(ui.selected, 'b');
  ui = press(ui, '', { downArrow: true }).ui;
  ui = press(ui, '', { downArrow: true }).ui;
  assert.equal(ui.selected, 'c', 'stops at the end');
  ui = press(ui, '', { upArrow: true }).ui;
  assert.equal(ui.selected, 'b');
  assert.deepEqual(press(ui, 'f').act, { op: 'freeze', name: 'b' });
  assert.deepEqual(press(ui, 't').act, { op: 'thaw', name: 'b' });
  const asked = press(ui, 'k');
  assert.equal(asked.act, undefined);
  assert.deepEqual(asked.ui.mode, { kind: 'confirm', op: 'kill', name: 'b' });
  assert.deepEqual(press(asked.ui, 'y').act, { op: 'kill', name: 'b' });
  for (const other of ['n', 'q', 'k', '']) {
    const r = press(asked.ui, other);
    assert.equal(r.act, undefined, other);
    assert.equal(r.quit, undefined, 'q answers no to the question, it does not quit');
    assert.equal(r.ui.mode.kind, 'normal');
  }
  assert.deepEqual(press(press(ui, 'r').ui, 'y').act, { op: 'release', name: 'b' });
  assert.equal(press(ui, '?').ui.mode.kind, 'help');
  assert.equal(press(press(ui, '?').ui, '', { escape: true }).ui.mode.kind, 'normal');
  assert.equal(press(ui, 'q').quit, true);
  assert.equal(interpretKey(initialUi, 'k', {}, []).ui.mode.kind, 'normal', 'nothing to kill in an empty list');
  assert.equal(selectedIndex({ ...ui, selected: 'gone', index: 7 }, names), 2, 'a vanished app leaves the cursor nearby');
});

test('feedback: a refusal carries the daemon message and hint; offline actions say so', () => {
  const refused = resultFeedback('kill', 'a', { id: 3, ok: false, error: { code: 'EPERM', message: 'a belongs to uid 1001', hint: 'ask root' } });
  assert.deepEqual(refused, { kind: 'error', text: 'daemon refused to kill a: a belongs to uid 1001', hint: 'ask root' });
  assert.deepEqual(resultFeedback('freeze', 'a', { id: 1, ok: true }), { kind: 'ok', text: 'a frozen' });
  assert.equal(resultFeedback('thaw', 'a', new Error('socket closed')).text, 'could not thaw a: socket closed');
  assert.match(offlineFeedback('kill', 'a').text, /not connected/);
});

test('NO_COLOR: present and non-empty turns colours off', () => {
  assert.equal(colorAllowed({}), true);
  assert.equal(colorAllowed({ NO_COLOR: '' }), true);
  assert.equal(colorAllowed({ NO_COLOR: '1' }), false);
  assert.ok(NOW > 0);
});
