// `ksapp notify`'s pure parts on literal events: which event becomes which notification for whom
// (src/notify/notice.ts), when to post under bursts and flaps (coalesce.ts), where the session bus
// is (bus-address.ts), which terminal opens the dashboard (terminal.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommandLine } from '../src/cli/args.js';
import type { AppStatus, EventRecord } from '../src/ipc/protocol.js';
import { sessionBusAddress } from '../src/notify/bus-address.js';
import { Coalescer, type Post } from '../src/notify/coalesce.js';
import { escapeMarkup } from '../src/notify/desktop.js';
import { bodyWithHistory, isAppNotice, noticeFor, viewOf, type Notice } from '../src/notify/notice.js';
import { terminalArgv } from '../src/notify/terminal.js';

const ME = 1000;
const app = (name: string, uid: number, tunnel = 'wg0', restart = false) => ({ name, uid, tunnel, restart }) as unknown as AppStatus;
const view = viewOf([app('qbittorrent', ME), app('firefox', ME, 'wg1'), app('steam', 1001)], ME);
const ev = (type: string, more: Partial<EventRecord> = {}): EventRecord => ({ at: '2026-11-30T10:00:00.000Z', type, ...more });
const HANDSHAKE = 'tunnel wg0 down: handshake older than 180 s';

test("an app of the user frozen by a tunnel loss: the app, the reason, what to do, Thaw now", () => {
  const n = noticeFor(ev('app-frozen', { app: 'qbittorrent', detail: HANDSHAKE }), view)!;
  assert.equal(n.key, 'app:qbittorrent');
  assert.equal(n.summary, 'qbittorrent frozen');
  assert.equal(n.body, `Reason: ${HANDSHAKE}.\nIt is paused, not closed, and resumes by itself when the tunnel is back. Reconnect the VPN to bring it back sooner.`);
  assert.equal(n.urgency, 'critical');
  assert.deepEqual(n.actions, ['thaw', 'dashboard']);
});

test("another user's app, an app the agent does not know, and events that are no state change make no notice", () => {
  assert.equal(noticeFor(ev('app-frozen', { app: 'steam', detail: HANDSHAKE }), view), undefined);
  const unknown = ev('app-frozen', { app: 'newcomer', detail: HANDSHAKE });
  assert.equal(noticeFor(unknown, view), undefined);
  assert.equal(isAppNotice(unknown), true, 'the agent asks the daemon who owns it');
  for (const type of ['app-added', 'app-removed', 'config-reloaded', 'tunnel-reason', 'exec-guard']) {
    assert.equal(noticeFor(ev(type, { app: 'qbittorrent', tunnel: 'wg0', detail: 'x' }), view), undefined, type);
    assert.equal(isAppNotice(ev(type, { app: 'qbittorrent' })), false, type);
  }
});

test('each app state says what happened and what to do', () => {
  const one = (type: string, detail: string, v = view): Notice => noticeFor(ev(type, { app: 'qbittorrent', detail }), v)!;
  assert.match(one('app-killed', HANDSHAKE).body, /Start it again once the tunnel is back\.$/);
  const restarting = viewOf([app('qbittorrent', ME, 'wg0', true)], ME);
  assert.match(one('app-killed', HANDSHAKE, restarting).body, /It is started again when the tunnel is back\.$/);
  assert.equal(one('app-blocked', HANDSHAKE).summary, 'qbittorrent blocked');
  assert.deepEqual(one('app-blocked', HANDSHAKE).actions, ['dashboard'], 'nothing to thaw');
  const restart = one('app-needs-restart', '2 sockets opened before adoption');
  assert.equal(restart.summary, 'qbittorrent needs a restart');
  assert.match(restart.body, /^Reason: 2 sockets opened before adoption\.\n.*`ksapp kill qbittorrent`/);
  const thawed = one('app-thawed', 'tunnel wg0 up');
  assert.deepEqual([thawed.summary, thawed.urgency, thawed.state], ['qbittorrent running again', 'normal', 'running']);
  assert.equal(one('app-unblocked', 'tunnel wg0 up').summary, 'qbittorrent unblocked');
  assert.equal(one('app-moved', `from wg0 to wg1: ${HANDSHAKE}; now on wg1`).summary, 'qbittorrent moved to tunnel wg1');
  const byHand = one('app-frozen', 'by request');
  assert.equal(byHand.body, 'It stays frozen until you thaw it (Thaw now, or `ksapp thaw qbittorrent`).');
});

test("a tunnel going down or coming back names the user's apps that ride it, and only theirs", () => {
  const down = noticeFor(ev('tunnel-down', { tunnel: 'wg0', detail: 'handshake older than 180 s' }), view)!;
  assert.deepEqual([down.key, down.summary, down.urgency], ['tunnel:wg0', 'VPN tunnel wg0 is down', 'critical']);
  assert.equal(down.body, 'Reason: handshake older than 180 s.\nYour apps on it cannot reach the network: qbittorrent. Reconnect the VPN; ksapp lets them out again once it is back.');
  const up = noticeFor(ev('tunnel-up', { tunnel: 'wg0', detail: 'handshake 2 s ago' }), view)!;
  assert.deepEqual([up.summary, up.urgency], ['VPN tunnel wg0 is back', 'normal']);
  assert.match(up.body, /Your apps on it are back online: qbittorrent\.$/);
  const other = noticeFor(ev('tunnel-down', { tunnel: 'wg9', detail: 'link down' }), view)!;
  assert.match(other.body, /None of your protected apps rides it\./);
});

const down = (at: number): [number, Notice] => [at, noticeFor(ev('tunnel-down', { tunnel: 'wg0', detail: 'link down' }), view)!];
const up = (at: number): [number, Notice] => [at, noticeFor(ev('tunnel-up', { tunnel: 'wg0', detail: 'link up' }), view)!];
const frozen = (at: number): [number, Notice] => [at, noticeFor(ev('app-frozen', { app: 'qbittorrent', detail: HANDSHAKE }), view)!];
const thawed = (at: number): [number, Notice] => [at, noticeFor(ev('app-thawed', { app: 'qbittorrent', detail: 'tunnel wg0 up' }), view)!];

/** Runs a coalescer over timed notices the way the agent does: add each, take at every deadline passed; the posts with their times. */
function run(inputs: ReadonlyArray<[number, Notice]>, until: number, c = new Coalescer()): Array<Post & { at: number }> {
  const posts: Array<Post & { at: number }> = [];
  const takeUntil = (t: number): void => {
    for (let d = c.nextDeadline(); d !== undefined && d <= t; d = c.nextDeadline()) posts.push(...c.take(d).map((p) => ({ ...p, at: d! })));
  };
  for (const [at, n] of inputs) {
    takeUntil(at);
    c.add(n, at);
  }
  takeUntil(until);
  return posts;
}
const said = (posts: ReadonlyArray<Post & { at: number }>): string[] => posts.map((p) => `${p.at} ${p.notice.summary}`);

test("one tunnel loss: the tunnel's and the app's notices post together after a short gather", () => {
  assert.deepEqual(said(run([down(0), frozen(2)], 10_000)), ['300 VPN tunnel wg0 is down', '302 qbittorrent frozen']);
});

test('a flap of 20 down/up events (40 with the apps) makes a handful of posts, the last telling the final state', () => {
  const flap: Array<[number, Notice]> = [];
  for (let i = 0; i < 20; i++) flap.push(...(i % 2 === 0 ? [down(i * 200), frozen(i * 200 + 1)] : [up(i * 200), thawed(i * 200 + 1)]));
  const posts = run(flap, 60_000);
  assert.deepEqual(said(posts), [
    '300 VPN tunnel wg0 is back', '301 qbittorrent running again',
    '3300 VPN tunnel wg0 is down', '3301 qbittorrent frozen',
    '9300 VPN tunnel wg0 is back', '9301 qbittorrent running again',
  ]);
  assert.deepEqual(posts.filter((p) => p.notice.key === 'tunnel:wg0').map((p) => p.changes), [2, 15, 3], 'every change is folded into some post');
});

test('a tunnel that keeps flapping for two minutes: the hold doubles, posts stay a handful per key', () => {
  const flap: Array<[number, Notice]> = [];
  for (let t = 0; t < 120_000; t += 500) flap.push((t / 500) % 2 === 0 ? down(t) : up(t));
  const posts = run(flap, 400_000);
  assert.ok(posts.length <= 8, `${posts.length} posts: ${said(posts).join(', ')}`);
  assert.equal(posts.at(-1)!.notice.state, 'up', 'it ended up');
  const gaps = posts.slice(1).map((p, i) => p.at - posts[i]!.at);
  assert.ok(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]!), `gaps grow: ${gaps.join(', ')}`);
});

test('a repeat of what the bubble shows posts nothing, a bounce back says it bounced; a quiet spell gives the short hold back', () => {
  assert.deepEqual(said(run([down(0), down(1000)], 20_000)), ['300 VPN tunnel wg0 is down']);
  const bounced = run([down(0), up(1000), down(2000)], 20_000);
  assert.deepEqual(said(bounced), ['300 VPN tunnel wg0 is down', '3300 VPN tunnel wg0 is down']);
  assert.match(bodyWithHistory(bounced[1]!.notice, bounced[1]!.changes, bounced[1]!.spanMs), /\n\(2 changes in 2 s; this is how it stands now\.\)$/);
  const c = new Coalescer();
  const posts = run([down(0), up(1000), down(100_000)], 100_400, c);
  assert.deepEqual(said(posts), ['300 VPN tunnel wg0 is down', '3300 VPN tunnel wg0 is back', '100300 VPN tunnel wg0 is down']);
});

test('after the user acts on a bubble, its next notice posts after the gather even if unchanged', () => {
  const c = new Coalescer();
  const posts = run([frozen(0)], 1000, c);
  c.replaced('app:qbittorrent', 1000);
  posts.push(...run([frozen(1100)], 2000, c));
  assert.deepEqual(said(posts), ['300 qbittorrent frozen', '1400 qbittorrent frozen']);
});

test('the session bus: the exported address, else /run/user/UID/bus when it exists, else none', () => {
  assert.equal(sessionBusAddress({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/tmp/b' }, ME, () => false), 'unix:path=/tmp/b');
  assert.equal(sessionBusAddress({}, ME, (p) => p === '/run/user/1000/bus'), 'unix:path=/run/user/1000/bus');
  assert.equal(sessionBusAddress({ DBUS_SESSION_BUS_ADDRESS: ' ' }, ME, () => false), undefined);
});

test('the dashboard opens in $TERMINAL when ksapp knows how to drive it, else in the first terminal found', () => {
  const tui = ['/usr/bin/node', '/opt/ksapp/cli.js', 'tui'];
  const have = (names: string[]) => (n: string) => (names.includes(n) ? `/usr/bin/${n}` : undefined);
  assert.deepEqual(terminalArgv(tui, have(['xterm', 'gnome-terminal'])), ['/usr/bin/gnome-terminal', '--', ...tui]);
  assert.deepEqual(terminalArgv(tui, have(['xterm', 'kitty']), '/usr/bin/kitty'), ['/usr/bin/kitty', ...tui]);
  assert.deepEqual(terminalArgv(tui, have(['xterm']), 'unknown-term'), ['/usr/bin/xterm', '-e', ...tui]);
  assert.equal(terminalArgv(tui, have([])), undefined);
});

test('the command line: `ksapp notify` takes the global options and no operands', () => {
  assert.deepEqual(parseCommandLine(['--socket', '/tmp/k.sock', 'notify']), { kind: 'notify', socket: '/tmp/k.sock', config: undefined });
  assert.throws(() => parseCommandLine(['notify', 'now']), /notify: unexpected "now"/);
});

test('a server that reads markup gets the reason escaped, so a detail with < or & shows as written', () => {
  assert.equal(escapeMarkup('probe <10.66.0.1> lost & handshake old'), 'probe &lt;10.66.0.1&gt; lost &amp; handshake old');
});
