// `ksapp tui --once`, the plain-text frame, NO_COLOR, and runDashboard's interactive lifecycle.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { renderStatusText } from '../tui/format/text.js';
import { TuiError } from '../tui/errors.js';
import { runDashboard } from '../tui/run.js';
import type { DashboardSource } from '../tui/source.js';
import { FakeStdin, FakeStdout, tick, waitForFrame } from './helpers/ink.js';
import { ago, app, event, FakeSource, NOW, status } from './tui-fixtures.js';

const asOut = (s: FakeStdout) => s as unknown as NodeJS.WriteStream;
const asIn = (s: FakeStdin) => s as unknown as NodeJS.ReadStream;

test('once: waits for the first status, prints one frame without keys, unsubscribes', async () => {
  const source = new FakeSource();
  const stdout = new FakeStdout(80, 24);
  const done = runDashboard({ source, stdout: asOut(stdout), once: true });
  await tick();
  source.sendStatus(status([app('qbittorrent'), app('firefox', { state: 'frozen' })]));
  await done;
  assert.equal(stdout.frames.length, 1, 'exactly one frame');
  const frame = stdout.frames[0]!;
  assert.match(frame, /▲ UP/);
  assert.match(frame, /qbittorrent +● running/);
  assert.match(frame, /firefox +‖ frozen/);
  assert.doesNotMatch(frame, /q quit|›/, 'no key line and no cursor in a one-shot frame');
  assert.ok(frame.endsWith('\n'));
  assert.equal(source.unsubscribed, 1);
});

test('once: a status delivered during subscribe() itself still unsubscribes exactly once', async () => {
  let unsubscribed = 0;
  const source: DashboardSource = {
    subscribe(onMessage) {
      onMessage({ type: 'status', status: status([app('a')]) });
      return () => void unsubscribed++;
    },
    act: async () => ({ id: 1, ok: true }),
  };
  const stdout = new FakeStdout(80, 24);
  await runDashboard({ source, stdout: asOut(stdout), once: true });
  assert.match(stdout.frames[0]!, /a +● running/);
  assert.equal(unsubscribed, 1);
});

test('once without a daemon: the "daemon not running" frame after a short wait', async () => {
  const source = new FakeSource();
  const stdout = new FakeStdout(80, 24);
  const done = runDashboard({ source, stdout: asOut(stdout), once: true, onceTimeoutMs: 100, socketHint: '/run/ksapp/ksapp.sock' });
  await tick();
  source.connection(false, 'connect ENOENT');
  await done;
  const frame = stdout.frames.join('');
  assert.match(frame, /✗ daemon not running — start it with `sudo ksapp daemon`/);
  assert.match(frame, /connect ENOENT · socket \/run\/ksapp\/ksapp\.sock/);
  assert.doesNotMatch(frame, /reconnecting/, 'a one-shot frame does not promise to retry');

  const silent = new FakeStdout(80, 24);
  await runDashboard({ source: new FakeSource(), stdout: asOut(silent), once: true, onceTimeoutMs: 50 });
  assert.match(silent.frames.join(''), /no answer within 0\.1s/);
});

test('renderStatusText: the plain-text frame, every app listed, no escape codes', () => {
  const apps = [
    app('qbittorrent', { packets: { tunnel: 1_234_567, dropped: 42 }, bytes: { tunnel: 2_300_000_000 }, pids: [1, 2, 3, 4] }),
    app('firefox', { state: 'frozen', user: 'bob' }),
    app('syncthing', { state: 'needs-restart', origin: 'adopted', policy: 'block' }),
  ];
  const events = [
    event('tunnel-down', 95, { detail: 'wg0: handshake older than 180s', reactionMs: 3.8 }),
    event('app-frozen', 95, { app: 'firefox' }),
    event('config-reloaded', 40),
  ];
  const s = status(apps, { events, tunnel: { ...status([]).tunnel, state: 'down', since: ago(95), reason: 'handshake older than 180s', handshakeAgeMs: 185_000, probeRttMs: null } });
  const text = renderStatusText(s, { now: NOW });
  assert.equal(text, [
    '╭──────────╮ tunnel wg0 · down since 11:58:25 (1m 35s ago)',
    '│  ▼ DOWN  │ reason: handshake older than 180s',
    '╰──────────╯ handshake 3m 05s ago · probe RTT – · last reaction 4.0 ms',
    '  APP              STATE           POLICY USER    PROC  PKTS BYTES    RATE  DROP',
    '  qbittorrent      ● running       freeze alice      4  1.2M 2.3GB       –    42',
    '  firefox          ‖ frozen        freeze bob        2  1.2k 5.6MB       –     0',
    '  syncthing        ↻ needs-restart block  alice      2  1.2k 5.6MB       –     0',
    `── events ${'─'.repeat(70)}`,
    '11:58:25 ▼ kill switch on  wg0: handshake older than 180s (reacted in 3.8 ms)',
    '11:58:25 ‖ frozen          firefox',
    '11:59:20 ↺ config reloaded',
  ].join('\n'));
  const many = renderStatusText(status(Array.from({ length: 50 }, (_, i) => app(`app-${i}`))), { now: NOW });
  assert.equal(many.split('\n').filter((l) => /app-\d+ +●/.test(l)).length, 50, 'text frames are not cut to a terminal');
});

const run = promisify(execFile);
const RUN_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tui', 'run.js');

/** Runs `ksapp tui --once` in a child with its own environment (chalk reads it at import). */
async function onceIn(env: Record<string, string>): Promise<string> {
  const script = `
    const { runDashboard } = await import(${JSON.stringify(RUN_JS)});
    const status = JSON.parse(process.env.KSAPP_TEST_STATUS);
    await runDashboard({ once: true, source: { subscribe(m) { m({ type: 'status', status }); return () => {}; }, act: async () => ({ id: 0, ok: true }) } });`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NO_COLOR', 'FORCE_COLOR', 'CI'].includes(k)));
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...clean, KSAPP_TEST_STATUS: JSON.stringify(status([app('a'), app('b', { state: 'killed' })])), ...env },
  });
  return stdout;
}

// Foreground colours: 30–37, 90–97, 38;5;n / 38;2;r;g;b.
const COLOUR = /\u001b\[(3[0-8]|9[0-7])[;m]/;

test('NO_COLOR: colours with FORCE_COLOR, none with NO_COLOR as well, states still readable', async () => {
  const coloured = await onceIn({ FORCE_COLOR: '1' });
  assert.match(coloured, /\u001b\[32m▲ UP/, 'UP is green');
  assert.match(coloured, /\u001b\[31m ?✗ killed/, 'killed is red');
  const plain = await onceIn({ FORCE_COLOR: '1', NO_COLOR: '1' });
  assert.doesNotMatch(plain, COLOUR);
  assert.match(plain, /▲ UP/);
  assert.match(plain, /b +✗ killed/);
  const piped = await onceIn({});
  assert.doesNotMatch(piped, /\u001b\[/, 'a pipe gets no escape codes at all');
});

// Ink draws nothing until exit when CI is set; `npm test` runs without it (see package.json).
test('interactive: draws live, q quits and unsubscribes; a non-terminal stdin is refused with a hint', { timeout: 20_000 }, async () => {
  const source = new FakeSource();
  const stdout = new FakeStdout(80, 24);
  const stdin = new FakeStdin();
  const done = runDashboard({ source, stdout: asOut(stdout), stdin: asIn(stdin) });
  await tick();
  source.sendStatus(status([app('qbittorrent')]));
  await waitForFrame(stdout.lastFrame, 'qbittorrent');
  stdin.write('q');
  await done;
  assert.equal(source.unsubscribed, 1);

  const pipe = Object.assign(new FakeStdin(), { isTTY: false });
  await assert.rejects(runDashboard({ source, stdout: asOut(stdout), stdin: asIn(pipe) }), (e: unknown) => {
    assert.ok(e instanceof TuiError);
    assert.match(e.hint, /--once/);
    return true;
  });
});
