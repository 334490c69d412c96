// The live dashboard against a fake daemon: frames are read as text, keys typed into a fake stdin.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { ColorContext } from '../tui/color.js';
import { Dashboard } from '../tui/components/Dashboard.js';
import type { AppStatusState } from '../src/ipc/protocol.js';
import { FakeStdout, KEYS, renderAt, tick, waitForFrame } from './helpers/ink.js';
import { app, event, FakeSource, NOW, status } from './tui-fixtures.js';

/** Renders the dashboard (colours off: frames compare as text) and waits until it subscribed. */
async function mount(source: FakeSource, size?: { columns: number; rows: number }) {
  const tree = (
    <ColorContext.Provider value={false}>
      <Dashboard source={source} now={NOW} socketHint="/run/ksapp/ksapp.sock" />
    </ColorContext.Provider>
  );
  const r = size === undefined ? render(tree) : renderAt(tree, size.columns, size.rows);
  await tick();
  assert.ok(source.onMessage, 'the dashboard subscribed');
  return r;
}

const STATES: readonly [AppStatusState, string][] = [
  ['running', '● running'], ['frozen', '‖ frozen'], ['blocked', '⊘ blocked'],
  ['killed', '✗ killed'], ['exited', '○ exited'], ['needs-restart', '↻ needs-restart'],
];

test('every app state shows its symbol and word; the tunnel shows UP, then DOWN with its reason', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    await waitForFrame(r.lastFrame, 'connecting to the daemon');
    source.sendStatus(status(STATES.map(([state]) => app(`app-${state}`, { state }))));
    const frame = await waitForFrame(r.lastFrame, '▲ UP');
    for (const [state, shown] of STATES) assert.match(frame, new RegExp(`app-${state} +${shown}`), state);
    assert.match(frame, /tunnel wg0 · up since/);
    assert.match(frame, /handshake 12s ago · probe RTT 3\.2 ms · last reaction 4\.0 ms/);
    const down = status([app('qbittorrent', { state: 'frozen' })]);
    source.sendStatus({ ...down, tunnel: { ...down.tunnel, state: 'down', reason: 'handshake older than 180s' } });
    const after = await waitForFrame(r.lastFrame, '▼ DOWN');
    assert.match(after, /reason: handshake older than 180s/);
    assert.doesNotMatch(after, /▲ UP/);
  } finally {
    r.unmount();
  }
  assert.equal(source.unsubscribed, 1, 'unmounting unsubscribes');
});

test('several tunnels: one line says how each is and which apps ride it', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    const s = status([app('work'), app('torrent', { state: 'frozen' })]);
    const t = (iface: string, state: 'up' | 'down', apps: string[], reason = 'all sources healthy') => ({ ...s.tunnel, interface: iface, state, reason, apps });
    source.sendStatus({ ...s, tunnels: [t('wg0', 'up', ['work']), t('wg1', 'down', ['torrent'], 'wg1 deleted')] });
    const frame = await waitForFrame(r.lastFrame, 'tunnels:');
    assert.match(frame, /tunnels: wg0 ▲: work · wg1 ▼ wg1 deleted: torrent/);
  } finally {
    r.unmount();
  }
});

test('an empty app list says how to protect one', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.sendStatus(status([]));
    await waitForFrame(r.lastFrame, 'no protected apps — protect one with `sudo ksapp run -- APP`');
  } finally {
    r.unmount();
  }
});

test('50 apps at 80×24: the frame fits, shows "+N more", and scrolls with the cursor', async () => {
  const source = new FakeSource();
  const r = await mount(source, { columns: 80, rows: 24 });
  try {
    const apps = Array.from({ length: 50 }, (_, i) => app(`app-${String(i).padStart(2, '0')}`));
    const events = Array.from({ length: 30 }, (_, i) => event('app-added', 60 - i, { app: `app-${i}` }));
    source.sendStatus(status(apps, { events }));
    const frame = await waitForFrame(r.lastFrame, 'more');
    const lines = frame.split('\n');
    assert.ok(lines.length <= 23, `${lines.length} lines: one less than the terminal, so Ink never clears the screen`);
    for (const line of lines) assert.ok([...line].length <= 80, `too wide: ${line}`);
    const shown = lines.filter((l) => /app-\d\d +● running/.test(l)).length;
    assert.ok(shown >= 10, `${shown} apps shown`);
    assert.match(frame, new RegExp(`\\+${50 - shown} more`));
    assert.match(frame, /› app-00/, 'the cursor starts on the first app');
    assert.match(frame, /── events/);
    assert.match(frame, /f freeze · t thaw · k kill/);
    await tick();
    r.stdin.write(KEYS.end);
    const end = await waitForFrame(r.lastFrame, '› app-49');
    assert.match(end, /above/);
    assert.doesNotMatch(end, /app-00 /);
  } finally {
    r.unmount();
  }
});

test('a rejected config edit shows a banner with the error', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    const error = '/etc/ksapp/config.yaml:7:13: apps[0].onDrop must be one of freeze, kill, block';
    source.sendStatus(status([app('a')], { config: { file: '/etc/ksapp/config.yaml', error } }));
    const frame = await waitForFrame(r.lastFrame, 'config error');
    assert.match(frame, /⚠ config error \(last good config still in force\): \/etc\/ksapp\/config\.yaml:7:13/);
  } finally {
    r.unmount();
  }
});

test('a lost daemon is shown plainly with the last known state, and clears on reconnection', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.sendStatus(status([app('qbittorrent')]));
    await waitForFrame(r.lastFrame, 'qbittorrent');
    source.connection(false, 'connect ECONNREFUSED');
    const lost = await waitForFrame(r.lastFrame, 'daemon not running');
    assert.match(lost, /✗ daemon not running — start it with `sudo ksapp daemon`/);
    assert.match(lost, /reconnecting… \(lost at \d\d:\d\d:\d\d\) · connect ECONNREFUSED · socket \/run\/ksapp\/ksapp\.sock/);
    assert.match(lost, /▲ UP +│ reason/, 'the last known tunnel state stays…');
    assert.match(lost, /· last known state/, '…marked as such');
    await tick();
    r.stdin.write('f');
    await waitForFrame(r.lastFrame, 'cannot freeze qbittorrent: not connected to the daemon');
    assert.equal(source.calls.length, 0, 'no request while the daemon is away');
    source.connection(true);
    source.sendStatus(status([app('qbittorrent', { state: 'frozen' })]));
    const back = await waitForFrame(r.lastFrame, (f) => !f.includes('daemon not running') && f.includes('‖ frozen'));
    assert.match(back, /▲ UP/);
  } finally {
    r.unmount();
  }
});

test('before any status, an unreachable daemon says so instead of an empty list', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.connection(false, 'connect ENOENT /run/ksapp/ksapp.sock');
    const frame = await waitForFrame(r.lastFrame, 'daemon not running');
    assert.match(frame, /\? UNKNOWN/);
    assert.match(frame, /no status: the daemon is unreachable/);
    assert.doesNotMatch(frame, /no protected apps/);
  } finally {
    r.unmount();
  }
});

test('an action the daemon refuses shows its message and hint', async () => {
  const source = new FakeSource();
  source.answer = async () => ({ id: 9, ok: false, error: { code: 'NOT_OWNER', message: 'qbittorrent belongs to uid 1001', hint: 'only root or its owner may freeze it' } });
  const r = await mount(source);
  try {
    source.sendStatus(status([app('qbittorrent')]));
    await waitForFrame(r.lastFrame, 'qbittorrent');
    await tick();
    r.stdin.write('f');
    const frame = await waitForFrame(r.lastFrame, 'refused');
    assert.match(frame, /✗ daemon refused to freeze qbittorrent: qbittorrent belongs to uid 1001/);
    assert.match(frame, /hint: only root or its owner may freeze it/);
    assert.deepEqual(source.calls, [{ op: 'freeze', name: 'qbittorrent' }]);
  } finally {
    r.unmount();
  }
});

test('kill asks first: k then y kills the selected app, k then n does not', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.sendStatus(status([app('firefox'), app('qbittorrent', { pids: [1, 2, 3] })]));
    await waitForFrame(r.lastFrame, 'qbittorrent');
    await tick();
    r.stdin.write('j');
    await waitForFrame(r.lastFrame, '› qbittorrent');
    r.stdin.write('k');
    const asked = await waitForFrame(r.lastFrame, 'Kill qbittorrent?');
    assert.match(asked, /Its 3 processes will be killed \(cgroup\.kill\)\. \[y\/N\]/);
    r.stdin.write('n');
    await waitForFrame(r.lastFrame, (f) => !f.includes('Kill qbittorrent?'));
    assert.deepEqual(source.calls, [], 'n answers no');
    r.stdin.write('k');
    await waitForFrame(r.lastFrame, 'Kill qbittorrent?');
    r.stdin.write('y');
    await waitForFrame(r.lastFrame, '✓ qbittorrent killed');
    assert.deepEqual(source.calls, [{ op: 'kill', name: 'qbittorrent' }]);
  } finally {
    r.unmount();
  }
});

test('freeze, thaw and release act on the selected app; release asks first', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.sendStatus(status([app('a'), app('b')]));
    await waitForFrame(r.lastFrame, '› a');
    await tick();
    r.stdin.write(KEYS.down);
    await waitForFrame(r.lastFrame, '› b');
    r.stdin.write('f');
    await waitForFrame(r.lastFrame, '✓ b frozen');
    r.stdin.write(KEYS.up);
    await waitForFrame(r.lastFrame, '› a');
    r.stdin.write('t');
    await waitForFrame(r.lastFrame, '✓ a thawed');
    r.stdin.write('r');
    await waitForFrame(r.lastFrame, 'Release a? Its traffic will no longer be confined to the tunnel.');
    r.stdin.write('y');
    await waitForFrame(r.lastFrame, '✓ a released');
    assert.deepEqual(source.calls, [{ op: 'freeze', name: 'b' }, { op: 'thaw', name: 'a' }, { op: 'release', name: 'a' }]);
  } finally {
    r.unmount();
  }
});

test('? opens the help with the keys and the state legend; Esc closes it', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.sendStatus(status([app('a')]));
    await waitForFrame(r.lastFrame, '› a');
    await tick();
    r.stdin.write('?');
    const help = await waitForFrame(r.lastFrame, 'App states');
    assert.match(help, /kill the app \(asks y\/n\)/);
    assert.match(help, /↻ needs-restart/);
    r.stdin.write(KEYS.escape);
    await waitForFrame(r.lastFrame, (f) => !f.includes('App states') && f.includes('› a'));
  } finally {
    r.unmount();
  }
});

test('events streamed between statuses appear in the log with their time', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.sendStatus(status([app('a')], { events: [event('app-added', 30, { app: 'a' })] }));
    await waitForFrame(r.lastFrame, '+ protected');
    source.sendEvent(event('tunnel-down', 5, { detail: 'wg0 deleted', reactionMs: 2.5 }));
    source.sendEvent(event('config-reloaded', 1));
    const frame = await waitForFrame(r.lastFrame, 'config reloaded');
    assert.match(frame, /11:59:55 ▼ kill switch on +wg0 deleted \(reacted in 2\.5 ms\)/);
    assert.match(frame, /11:59:59 ↺ config reloaded/);
  } finally {
    r.unmount();
  }
});

test('a burst of messages is drawn in a few frames, not one per message', async () => {
  const source = new FakeSource();
  const r = await mount(source);
  try {
    source.sendStatus(status([app('a')]));
    await waitForFrame(r.lastFrame, '› a');
    const before = r.frames.length;
    for (let i = 0; i < 100; i++) source.sendEvent(event('app-frozen', 100 - i, { app: `x${i}` }));
    await waitForFrame(r.lastFrame, 'x99');
    assert.ok(r.frames.length - before <= 3, `${r.frames.length - before} frames for 100 events`);
  } finally {
    r.unmount();
  }
});

test('a resized terminal is redrawn to the new width', async () => {
  const source = new FakeSource();
  const r = await mount(source, { columns: 120, rows: 30 });
  try {
    source.sendStatus(status([app('qbittorrent')]));
    await waitForFrame(r.lastFrame, 'DROP/S');
    (r.stdout as FakeStdout).resize(80, 24);
    const frame = await waitForFrame(r.lastFrame, (f) => f.includes('qbittorrent') && !f.includes('DROP/S'));
    for (const line of frame.split('\n')) assert.ok([...line].length <= 80, `too wide: ${line}`);
  } finally {
    r.unmount();
  }
});
