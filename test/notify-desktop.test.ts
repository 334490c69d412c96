// `ksapp notify` end to end, as the desktop user: a real session bus (dbus-daemon), a stand-in
// notification server on it (test/fixtures/notification-server.mjs, recording every call), a fake
// daemon on a real Unix socket streaming a tunnel loss, and the agent itself started as nobody.
// Checks the notices for the right user, Thaw now refused while the tunnel is down, Open dashboard,
// coalescing under a flap with replacement in place, the root refusal and the no-bus exit.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { CLI_PATH } from '../src/demo/ksapp-process.js';
import { waitUntil } from '../src/demo/wait.js';
import type { EventRecord, Request } from '../src/ipc/protocol.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
const SERVER = path.resolve('test/fixtures/notification-server.mjs');
const HANDSHAKE = 'handshake older than 180 s';

/** One Notify call as the stand-in server recorded it. */
interface NotifyCall { id: number; replacesId: number; summary: string; body: string; actions: string[]; urgency: number; at: number }

/** The daemon's side of the socket: answers subscribe, status and thaw as root's daemon would, streams what the test emits. */
class FakeDaemon {
  readonly requests: Request[] = [];
  readonly subscribers = new Set<net.Socket>();
  tunnelDown = false;
  readonly server = net.createServer((c) => {
    c.on('error', () => undefined);
    createInterface({ input: c }).on('line', (line) => this.answer(c, JSON.parse(line) as Request));
  });
  private readonly apps = [
    { name: 'qbittorrent', uid: 65534, user: 'nobody', tunnel: 'wg0', restart: false, state: 'running', policy: 'freeze' },
    { name: 'steam', uid: 1000, user: 'alice', tunnel: 'wg0', restart: false, state: 'running', policy: 'freeze' },
  ];

  emit(event: Omit<EventRecord, 'at'>): void {
    for (const c of this.subscribers) c.write(`${JSON.stringify({ type: 'event', event: { at: new Date().toISOString(), ...event } })}\n`);
  }

  private answer(c: net.Socket, r: Request): void {
    this.requests.push(r);
    const ok = (result?: unknown): void => { c.write(`${JSON.stringify({ id: r.id, ok: true, result })}\n`); };
    if (r.op === 'subscribe') {
      this.subscribers.add(c);
      c.once('close', () => this.subscribers.delete(c));
      return ok();
    }
    if (r.op === 'status') return ok({ apps: this.apps, events: [] });
    if (r.op === 'thaw' && this.tunnelDown) {
      c.write(`${JSON.stringify({ id: r.id, ok: false, error: { code: 'TUNNEL_DOWN', exitCode: 1, message: `cannot thaw ${r.name}: the tunnel is down (${HANDSHAKE})`, hint: 'it thaws by itself when the tunnel is back; its traffic could not leave anyway, the firewall still confines it' } })}\n`);
      return;
    }
    ok();
  }
}

let dir: string;
let socket: string;
let address: string;
const fake = new FakeDaemon();
const calls: NotifyCall[] = [];
const children: ChildProcess[] = [];
let bus: ChildProcess;
let server: ChildProcess;
let agent: ChildProcess;
let agentErr = '';

/** Starts a long-running process as nobody and keeps its pid for the clean-up. */
function startAsNobody(argv: readonly string[], env: Record<string, string>): ChildProcess {
  const child = spawn(NOBODY[0]!, [...NOBODY.slice(1), ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

const notifies = (): NotifyCall[] => calls;
const lastOf = (summary: RegExp): NotifyCall | undefined => calls.filter((c) => summary.test(c.summary)).at(-1);

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ksapp-notify-'));
  await chmod(dir, 0o755);
  const own = path.join(dir, 'nobody');
  await mkdir(own);
  await chown(own, 65534, 65534);
  // The session bus, as the desktop user's own.
  bus = startAsNobody(['dbus-daemon', '--session', '--print-address', '--nofork', `--address=unix:path=${own}/bus`], { PATH: '/usr/bin:/bin' });
  address = await new Promise<string>((resolve, reject) => {
    createInterface({ input: bus.stdout! }).once('line', resolve);
    bus.once('exit', (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
  });
  server = startAsNobody([process.execPath, SERVER, address], { PATH: '/usr/bin:/bin' });
  const ready = new Promise<void>((resolve) => {
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { ready?: true; call?: string } & NotifyCall;
      if (m.ready) resolve();
      if (m.call === 'Notify') calls.push(m);
    });
  });
  await ready;
  socket = path.join(dir, 'ksapp.sock');
  await new Promise<void>((resolve) => fake.server.listen(socket, resolve));
  await chmod(socket, 0o666);
  // A terminal emulator that only writes down what it was asked to run.
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'bin/x-terminal-emulator'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${own}/terminal-args\n`, { mode: 0o755 });
});

after(async () => {
  for (const child of children.reverse()) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  fake.server.close();
  for (const c of fake.subscribers) c.destroy();
  await rm(dir, { recursive: true, force: true });
});

test("a tunnel loss: the agent's user is told that the tunnel is down and that their app is frozen, with the reason; another user's app is not mentioned", async (t) => {
  agent = startAsNobody([process.execPath, CLI_PATH, '--socket', socket, 'notify'], {
    DBUS_SESSION_BUS_ADDRESS: address, PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`, HOME: path.join(dir, 'nobody'),
  });
  agent.stderr!.setEncoding('utf8').on('data', (d: string) => { agentErr += d; });
  assert.ok(await waitUntil(() => fake.requests.some((r) => r.op === 'status') && fake.subscribers.size === 1, 10_000, 20), `the agent subscribes: ${agentErr}`);
  const started = Date.now();
  fake.tunnelDown = true;
  fake.emit({ type: 'tunnel-down', tunnel: 'wg0', detail: HANDSHAKE, reactionMs: 1.2 });
  fake.emit({ type: 'app-frozen', app: 'qbittorrent', detail: `tunnel wg0 down: ${HANDSHAKE}` });
  fake.emit({ type: 'app-frozen', app: 'steam', detail: `tunnel wg0 down: ${HANDSHAKE}` });
  assert.ok(await waitUntil(() => notifies().length >= 2, 5000, 10), `two notifications: ${JSON.stringify(calls)} ${agentErr}`);
  const latency = Date.now() - started;
  t.diagnostic(`both notifications posted ${latency} ms after the events`);
  await sleep(500);
  assert.deepEqual(calls.map((c) => c.summary).sort(), ['VPN tunnel wg0 is down', 'qbittorrent frozen']);
  const [tunnel, app] = [lastOf(/tunnel wg0/)!, lastOf(/qbittorrent/)!];
  assert.equal(tunnel.body, `Reason: ${HANDSHAKE}.\nYour apps on it cannot reach the network: qbittorrent. Reconnect the VPN; ksapp lets them out again once it is back.`);
  assert.match(app.body, new RegExp(`^Reason: tunnel wg0 down: ${HANDSHAKE}\\.\\nIt is paused, not closed, and resumes by itself when the tunnel is back`));
  assert.deepEqual(app.actions, ['thaw', 'Thaw now', 'dashboard', 'Open dashboard'], 'the server has "actions": the bubble offers them');
  assert.deepEqual([app.urgency, tunnel.urgency, app.replacesId, tunnel.replacesId], [2, 2, 0, 0]);
  assert.ok(latency < 2000, `posted ${latency} ms after the events`);
});

test('Thaw now while the tunnel is down: the daemon refuses, and the refusal replaces the app\'s bubble', async () => {
  const app = lastOf(/qbittorrent/)!;
  server.stdin!.write(`${JSON.stringify({ invoke: app.id, action: 'thaw' })}\n`);
  assert.ok(await waitUntil(() => lastOf(/Could not thaw/) !== undefined, 5000, 10), `a refusal is shown: ${agentErr}`);
  assert.deepEqual(fake.requests.filter((r) => r.op === 'thaw'), [{ op: 'thaw', name: 'qbittorrent', id: (fake.requests.find((r) => r.op === 'thaw') as { id: number }).id }]);
  const refusal = lastOf(/Could not thaw/)!;
  assert.equal(refusal.summary, 'Could not thaw qbittorrent');
  assert.equal(refusal.body, `cannot thaw qbittorrent: the tunnel is down (${HANDSHAKE}).\nIt thaws by itself when the tunnel is back; its traffic could not leave anyway, the firewall still confines it.`);
  assert.deepEqual([refusal.replacesId, refusal.id], [app.id, app.id], 'in place of the frozen notice');
});

test('Open dashboard runs `ksapp tui` in a terminal emulator', async () => {
  const tunnel = lastOf(/tunnel wg0/)!;
  const args = path.join(dir, 'nobody/terminal-args');
  server.stdin!.write(`${JSON.stringify({ invoke: tunnel.id, action: 'dashboard' })}\n`);
  assert.ok(await waitUntil(() => existsSync(args), 5000, 10), `the terminal ran: ${agentErr}`);
  assert.deepEqual((await readFile(args, 'utf8')).trim().split('\n'), ['-e', process.execPath, CLI_PATH, '--socket', socket, 'tui']);
});

test('a flap of 20 down/up events (40 with the app): a handful of notifications, each replacing its own bubble, the last telling the final state', async (t) => {
  const before = calls.length;
  const ids = { tunnel: lastOf(/tunnel wg0/)!.id, app: lastOf(/qbittorrent/)!.id };
  for (let i = 0; i < 20; i++) {
    const down = i % 2 === 0;
    fake.tunnelDown = down;
    fake.emit({ type: down ? 'tunnel-down' : 'tunnel-up', tunnel: 'wg0', detail: down ? HANDSHAKE : 'handshake 1 s ago' });
    fake.emit({ type: down ? 'app-frozen' : 'app-thawed', app: 'qbittorrent', detail: down ? `tunnel wg0 down: ${HANDSHAKE}` : 'tunnel wg0 up' });
    fake.emit({ type: down ? 'app-frozen' : 'app-thawed', app: 'steam', detail: 'not yours' });
    await sleep(50);
  }
  const settled = (): boolean => lastOf(/tunnel wg0/)?.summary === 'VPN tunnel wg0 is back' && lastOf(/qbittorrent/)?.summary === 'qbittorrent running again';
  assert.ok(await waitUntil(settled, 15_000, 20), `the final state is shown: ${JSON.stringify(calls.slice(before))}`);
  // Held notices go out when their hold (3 s) has passed: wait it out, then nothing more may come.
  await sleep(3500);
  const flap = calls.slice(before);
  t.diagnostic(`${flap.length} notifications: ${flap.map((c) => `+${c.at - flap[0]!.at} ms ${c.summary} (${/\((\d+) changes/.exec(c.body)?.[1] ?? 1} changes)`).join(' | ')}`);
  assert.ok(flap.length >= 2 && flap.length <= 6, `${flap.length} notifications for the flap: ${flap.map((c) => c.summary).join(' | ')}`);
  assert.equal(settled(), true, 'the last of each says how it stands now');
  assert.ok(flap.every((c) => !/steam/.test(c.summary + c.body)), "the other user's app never shows");
  for (const c of flap) {
    const own = /tunnel wg0/.test(c.summary) ? ids.tunnel : ids.app;
    assert.deepEqual([c.replacesId, c.id], [own, own], `${c.summary} replaces its own bubble`);
  }
  assert.match(flap.at(-1)!.body, /\(\d+ changes in \d+ s; this is how it stands now\.\)$/);
});

test('the agent leaves with exit 0 on SIGTERM', async () => {
  const exit = new Promise<number | null>((resolve) => agent.once('exit', resolve));
  process.kill(agent.pid!, 'SIGTERM');
  assert.equal(await exit, 0, agentErr);
  assert.match(agentErr, /notifying uid 65534 on unix:path=.*; following the daemon at .*ksapp\.sock/);
});

test('started as root, it refuses with exit 2 and says to run it as the desktop user', async () => {
  const r = await execa(process.execPath, [CLI_PATH, '--socket', socket, 'notify'], { reject: false, env: { DBUS_SESSION_BUS_ADDRESS: address } });
  assert.equal(r.exitCode, 2, String(r.stderr));
  assert.match(String(r.stderr), /^Error: ksapp notify refuses to run as root: it posts to the desktop session of the user it runs as\nHint: run it as the desktop user, without sudo/);
});

test('without a session bus, it says so and exits 1', async () => {
  assert.equal(existsSync('/run/user/65534/bus'), false);
  const r = await execa(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, CLI_PATH, '--socket', socket, 'notify'], { reject: false, env: { PATH: '/usr/bin:/bin' } });
  assert.equal(r.exitCode, 1, String(r.stderr));
  assert.match(String(r.stderr), /^Error: no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and \/run\/user\/65534\/bus does not exist\nHint: run it inside your desktop session/);
});

test('when the session bus goes away, the agent says so and exits 1', async () => {
  const again = startAsNobody([process.execPath, CLI_PATH, '--socket', socket, 'notify'], { DBUS_SESSION_BUS_ADDRESS: address, PATH: '/usr/bin:/bin' });
  let err = '';
  again.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  assert.ok(await waitUntil(() => /connected to the daemon/.test(err), 10_000, 20), err);
  const exit = new Promise<number | null>((resolve) => again.once('exit', resolve));
  process.kill(bus.pid!, 'SIGTERM');
  assert.equal(await exit, 1, err);
  assert.match(err, /session bus .*; leaving/);
});
