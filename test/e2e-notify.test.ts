// `ksapp notify` end to end against the real daemon in the leak lab: a private session bus per
// desktop user (dbus-daemon) with the stand-in notification server on it, the agent started as that
// user, an app the user started with `ksapp run`, and root's app beside it on the same tunnel. A
// tunnel loss tells the app's owner that it is frozen and why, the tunnel back replaces those
// bubbles in place; a flap of ten down/up cycles comes out as the few bubbles the agent's coalescing
// rules allow, the last telling how things stand. Another user hears of the tunnel, never of the app.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { CLI_PATH } from '../src/demo/ksapp-process.js';
import { waitUntil } from '../src/demo/wait.js';
import { DaemonClient } from '../src/ipc/client.js';
import type { EventRecord } from '../src/ipc/protocol.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { asUser, startDesktopSession, type DesktopSession, type NotifyCall } from './helpers/desktop-session.js';
import { daemonView, ksappIn, labSocket, removeTestGroups } from './helpers/ksapp.js';
import { statusIn } from './helpers/lab-view.js';

const skip = process.getuid?.() !== 0 ? 'needs root (a lab, and users to run the agents as)' : false;
/** The app's owner, and a second desktop user with no app (www-data: dbus-daemon wants a passwd entry). */
const OWNER = 65534;
const OTHER = 33;
const CYCLES = 10;
/** The agent's coalescing defaults (src/notify/coalesce.ts): the base hold between two posts of one key. */
const HOLD_MS = 3000;
/** Slack on spans and gaps measured here rather than in the agent (the event's trip to it). */
const SLACK_MS = 1000;

let lab: Lab;
let daemon: ReturnType<typeof ksappIn> | undefined;
/** How the daemon ended, once it has (for failure messages). */
let daemonEnd: string | undefined;
let watcher: DaemonClient | undefined;
let dir: string | undefined;
const sessions: DesktopSession[] = [];
const apps: Array<{ kill(signal?: NodeJS.Signals): unknown }> = [];
/** Every daemon event, with when this process heard it. */
const heard: Array<EventRecord & { heardAt: number }> = [];
const agentLog = new Map<number, string>();
let owner: DesktopSession;
let other: DesktopSession;
let iface: string;

/** Starts `ksapp notify` in a user's session and waits until it follows the daemon. */
async function startAgent(s: DesktopSession): Promise<ChildProcess> {
  const agent = s.start([process.execPath, CLI_PATH, '--socket', labSocket(lab), 'notify'], {
    DBUS_SESSION_BUS_ADDRESS: s.address, PATH: '/usr/bin:/bin', HOME: s.home,
  });
  agentLog.set(s.uid, '');
  agent.stderr!.setEncoding('utf8').on('data', (d: string) => { agentLog.set(s.uid, `${agentLog.get(s.uid)!}${d}`.slice(-4000)); });
  await until(() => /connected to the daemon/.test(agentLog.get(s.uid)!), 15_000, `the agent of uid ${s.uid} follows the daemon`);
  return agent;
}

/** Waits for a condition; fails with what the daemon, the servers and the agents saw. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  if (await waitUntil(check, timeoutMs, 20)) return;
  const posts = sessions.map((s) => `uid ${s.uid}: ${s.calls.map((c) => `[${c.id}←${c.replacesId}] ${c.summary}`).join(' | ')}`).join('; ');
  assert.fail(`${what}: not within ${timeoutMs} ms.\n${daemonEnd ?? await daemonView(lab)}\nposts: ${posts}\nagents: ${[...agentLog].map(([u, l]) => `${u}: ${l}`).join('\n')}`);
}

const count = (type: string, app?: string): number => heard.filter((e) => e.type === type && (app === undefined || e.app === app)).length;

/** Waits until the daemon has logged `n` of each event named (an app's, or the tunnel's as `tunnel-*`). */
async function heardAll(n: number, types: ReadonlyArray<readonly [string, string?]>): Promise<void> {
  await until(() => types.every(([type, app]) => count(type, app) >= n), 20_000, `the daemon logs ${types.map(([t, a]) => `${t} ${a ?? ''}`).join(', ')} ×${n}`);
}

const down = (n: number) => heardAll(n, [['app-frozen', 'mine'], ['app-frozen', 'roots'], ['tunnel-down']]);
const up = (n: number) => heardAll(n, [['app-thawed', 'mine'], ['app-thawed', 'roots'], ['tunnel-up']]);
const lastOf = (s: DesktopSession, summary: string): NotifyCall | undefined => s.calls.filter((c) => c.summary === summary).at(-1);
/** How many notices one post folds: its "(N changes …)" line, else one. */
const folded = (c: NotifyCall): number => Number(/\((\d+) changes in \d+ s; this is how it stands now\.\)$/.exec(c.body)?.[1] ?? 1);

/**
 * The most posts of one key the agent may make for notices reaching it
 * over `spanMs`, never more than `gapMs` apart (src/notify/coalesce.ts):
 * posts while they come are a hold apart, and the hold doubles whenever the
 * next notice comes within it, which a gap under the base hold guarantees;
 * then one more post after the last notice.
 */
function postBound(spanMs: number, gapMs: number): number {
  return gapMs < HOLD_MS ? 2 + Math.floor(Math.log2(1 + spanMs / HOLD_MS)) : 2 + Math.floor(spanMs / HOLD_MS);
}

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
  iface = lab.tunnel.clientIface;
  // The agents and `ksapp run` are not root: they must reach the socket below the lab's directory.
  await chmod(lab.dir, 0o755);
  await chmod(path.dirname(lab.dir), 0o711);
  // A short hold-down, so each cycle of the flap takes well under a second.
  const config = path.join(lab.dir, 'notify.yaml');
  await writeFile(config, [
    'tunnel:', `  interface: ${iface}`, '  holdDown: 50ms', '  maxHoldDown: 200ms',
    `dns: { servers: [${lab.tunnel.server4}] }`, `cgroupParent: ksapp-t-${lab.suffix}`, '',
  ].join('\n'));
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  void daemon.then((r) => { daemonEnd = `the daemon ended (${r.exitCode ?? r.signal}): ${String(r.stderr).slice(-2000)}`; });
  await until(async () => daemonEnd !== undefined || (await statusIn(lab).catch(() => undefined)) !== undefined, 15_000, 'the daemon answers');
  assert.equal(daemonEnd, undefined);
  watcher = await DaemonClient.connect(labSocket(lab));
  await watcher.subscribe((m) => { if (m.type === 'event') heard.push({ ...m.event, heardAt: Date.now() }); }, { status: false });
  dir = await mkdtemp(path.join(tmpdir(), 'ksapp-e2e-notify-'));
  await chmod(dir, 0o755);
  owner = await startDesktopSession(dir, OWNER);
  sessions.push(owner);
  other = await startDesktopSession(dir, OTHER);
  sessions.push(other);
  // Started at login, before any app: the agents learn of the app from the daemon's events.
  await Promise.all([startAgent(owner), startAgent(other)]);
  const run = (name: string) => ['run', '--name', name, '--on-drop', 'freeze', '--', 'sleep', '600'];
  const [nsenter, ...inClient] = lab.nsenterArgs('client');
  apps.push(execa(nsenter!, [...inClient, ...asUser(OWNER), process.execPath, CLI_PATH, '--socket', labSocket(lab), ...run('mine')], { reject: false, stdin: 'ignore' }));
  apps.push(ksappIn(lab, run('roots')));
  await until(async () => {
    const s = await statusIn(lab);
    return ['mine', 'roots'].every((n) => s.apps.some((a) => a.name === n && a.state === 'running')) && s.apps.find((a) => a.name === 'mine')?.uid === OWNER;
  }, 15_000, 'both apps run, `mine` as its owner');
});

after(async () => {
  // Each step runs even when one before it fails: nothing of the test may outlive it.
  const steps: Array<() => unknown> = [
    () => Promise.all(sessions.map((s) => s.stop())),
    () => watcher?.close(),
    () => { for (const a of apps) a.kill('SIGKILL'); },
    async () => { daemon?.kill('SIGTERM'); await daemon; },
    () => lab && removeTestGroups(lab),
    () => lab?.destroy(),
    () => dir && rm(dir, { recursive: true, force: true }),
  ];
  for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => console.error(`clean-up: ${String(e)}`));
});

test('the tunnel set down: the owner is told that their app is frozen and why, and that the tunnel is down; root\'s app is never named', { skip }, async (t) => {
  await lab.faults.setTunnelDown();
  await down(1);
  const frozen = heard.find((e) => e.type === 'app-frozen' && e.app === 'mine')!;
  const cut = heard.find((e) => e.type === 'tunnel-down')!;
  assert.match(frozen.detail ?? '', new RegExp(`^tunnel ${iface} down: `), 'the daemon names the tunnel and why');
  await until(() => lastOf(owner, 'mine frozen') !== undefined && lastOf(owner, `VPN tunnel ${iface} is down`) !== undefined, 10_000, 'the owner sees both bubbles');
  const app = lastOf(owner, 'mine frozen')!;
  const tunnel = lastOf(owner, `VPN tunnel ${iface} is down`)!;
  t.diagnostic(`posted ${app.at - frozen.heardAt} ms (app) and ${tunnel.at - cut.heardAt} ms (tunnel) after the daemon's events`);
  assert.equal(owner.calls.length, 2, owner.calls.map((c) => c.summary).join(' | '));
  assert.deepEqual(
    { app: app.app, replacesId: app.replacesId, urgency: app.urgency, category: app.category, actions: app.actions },
    { app: 'ksapp', replacesId: 0, urgency: 2, category: 'network.disconnected', actions: ['thaw', 'Thaw now', 'dashboard', 'Open dashboard'] },
  );
  assert.equal(app.body, `Reason: ${frozen.detail}.\nIt is paused, not closed, and resumes by itself when the tunnel is back. Reconnect the VPN to bring it back sooner.`);
  assert.equal(tunnel.body, `Reason: ${cut.detail}.\nYour apps on it cannot reach the network: mine. Reconnect the VPN; ksapp lets them out again once it is back.`);
  assert.deepEqual([tunnel.replacesId, tunnel.urgency], [0, 2]);
});

test('the tunnel back: "running again" replaces the frozen bubble and "is back" the tunnel\'s, in place', { skip }, async () => {
  await lab.faults.setTunnelUp();
  await up(1);
  const frozen = lastOf(owner, 'mine frozen')!;
  const cut = lastOf(owner, `VPN tunnel ${iface} is down`)!;
  // A key posted a moment ago holds its next bubble for the base hold (3 s).
  await until(() => lastOf(owner, 'mine running again') !== undefined && lastOf(owner, `VPN tunnel ${iface} is back`) !== undefined, 15_000, 'the owner sees both bubbles replaced');
  const app = lastOf(owner, 'mine running again')!;
  const tunnel = lastOf(owner, `VPN tunnel ${iface} is back`)!;
  assert.equal(owner.calls.length, 4, owner.calls.map((c) => c.summary).join(' | '));
  assert.deepEqual([app.replacesId, app.id], [frozen.id, frozen.id], 'in place of the frozen bubble');
  assert.deepEqual([tunnel.replacesId, tunnel.id], [cut.id, cut.id], 'in place of the tunnel-down bubble');
  assert.equal(app.body, `Reason: tunnel ${iface} up.\nIts traffic goes through the tunnel again.`);
  assert.deepEqual([app.urgency, app.category, app.actions], [1, 'network.connected', ['dashboard', 'Open dashboard']]);
  assert.match(tunnel.body, /\nYour apps on it are back online: mine\.$/);
});

test(`a flap of ${CYCLES} down/up cycles: a few bubbles, as the coalescing rules bound them, each in place, the last telling the final state`, { skip }, async (t) => {
  const from = owner.calls.length;
  const since = heard.length;
  const ids = { app: lastOf(owner, 'mine running again')!.id, tunnel: lastOf(owner, `VPN tunnel ${iface} is back`)!.id };
  for (let i = 2; i <= CYCLES + 1; i++) {
    await lab.faults.setTunnelDown();
    await down(i);
    await lab.faults.setTunnelUp();
    await up(i);
  }
  const flap = heard.slice(since);
  const ofApp = flap.filter((e) => e.app === 'mine' && (e.type === 'app-frozen' || e.type === 'app-thawed'));
  const ofTunnel = flap.filter((e) => e.type === 'tunnel-down' || e.type === 'tunnel-up');
  assert.deepEqual([ofApp.length, ofTunnel.length], [2 * CYCLES, 2 * CYCLES], 'one event per change: nothing more to fold');
  // Every notice is in a bubble once the folded counts add up: nothing is left pending.
  const posts = (id: number) => owner.calls.slice(from).filter((c) => c.id === id);
  const sum = (id: number) => posts(id).reduce((n, c) => n + folded(c), 0);
  await until(() => sum(ids.app) >= 2 * CYCLES && sum(ids.tunnel) >= 2 * CYCLES, 60_000, 'every change of the flap is in a bubble');
  const mine = owner.calls.slice(from);
  t.diagnostic(`${mine.length} bubbles for ${ofApp.length + ofTunnel.length} notices: ${mine.map((c) => `+${c.at - ofApp[0]!.heardAt} ms ${c.summary} (${folded(c)})`).join(' | ')}`);
  assert.deepEqual([sum(ids.app), sum(ids.tunnel)], [2 * CYCLES, 2 * CYCLES], 'each notice folded once');
  assert.equal(mine.length, posts(ids.app).length + posts(ids.tunnel).length, 'each post replaces its own key\'s bubble');
  assert.ok(mine.every((c) => c.replacesId === c.id), 'in place');
  for (const [key, events] of [['app', ofApp], ['tunnel', ofTunnel]] as const) {
    const span = events.at(-1)!.heardAt - events[0]!.heardAt + SLACK_MS;
    const gap = Math.max(...events.slice(1).map((e, i) => e.heardAt - events[i]!.heardAt)) + SLACK_MS;
    const bound = postBound(span, gap);
    t.diagnostic(`${key}: ${posts(ids[key]).length} bubbles for ${events.length} notices over ${span - SLACK_MS} ms, gaps ≤ ${gap - SLACK_MS} ms: at most ${bound}`);
    assert.ok(posts(ids[key]).length <= bound, `${key}: ${posts(ids[key]).length} bubbles, at most ${bound}`);
  }
  const [app, tunnel] = [posts(ids.app).at(-1)!, posts(ids.tunnel).at(-1)!];
  assert.equal(app.summary, 'mine running again');
  // With the "(N changes in S s; …)" line when the last bubble folds several.
  assert.match(app.body, new RegExp(`^Reason: tunnel ${iface} up\\.\\nIts traffic goes through the tunnel again\\.(\\n\\(\\d+ changes in \\d+ s; this is how it stands now\\.\\))?$`));
  assert.equal(tunnel.summary, `VPN tunnel ${iface} is back`);
  assert.match(tunnel.body, /Your apps on it are back online: mine\./);
  assert.ok(owner.calls.every((c) => !/roots/.test(`${c.summary} ${c.body}`)), 'root\'s app is never named to the owner');
});

test('another desktop user, who owns no app, hears of the tunnel and never of the app', { skip }, async (t) => {
  // Its agent coalesces as the owner's does: its bubble telling the tunnel is back may come a hold later.
  await until(() => other.calls.at(-1)?.summary === `VPN tunnel ${iface} is back` && other.calls.reduce((n, c) => n + folded(c), 0) === 2 * (CYCLES + 1), 30_000, 'the other user sees every change of the tunnel');
  t.diagnostic(other.calls.map((c) => `[${c.id}←${c.replacesId}] ${c.summary} (${folded(c)})`).join(' | '));
  assert.ok(other.calls.every((c) => c.summary.startsWith(`VPN tunnel ${iface} is `)), other.calls.map((c) => c.summary).join(' | '));
  assert.ok(other.calls.every((c) => !/mine|roots/.test(c.body)), 'no app is named');
  assert.match(other.calls.find((c) => c.summary.endsWith('is down'))!.body, /None of your protected apps rides it\./);
});
