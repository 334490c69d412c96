// End-to-end: an unprivileged user (nobody) trying to starve the kill switch through the daemon's
// socket — a flood of requests, too many connections, idle connections, a subscriber that never
// reads, too many apps (issue 15). The daemon runs in a lab with short limits (KSAPP_IPC_LIMITS in
// its own environment) and its socket in a directory of this run that only root may write.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { waitUntil } from '../src/demo/wait.js';
import type { IpcLimits } from '../src/ipc/limits.js';
import type { Status } from '../src/ipc/protocol.js';
import { collectJsonLines, createLab, fixturePath, type Lab } from '../src/lab/index.js';
import { DaemonClient } from '../src/ipc/client.js';
import { rootSocketOf } from '../src/ipc/server.js';
import { ksappIn, labConfig, removeTestGroups } from './helpers/ksapp.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
const LIMITS: IpcLimits = { maxInFlight: 4, maxConnectionsPerUser: 6, maxConnections: 10, idleTimeoutMs: 1500, maxUnreadBytes: 64 * 1024, maxAppsPerUser: 3 };

let lab: Lab;
let socket: string;
let env: Record<string, string>;
let daemon: ResultPromise | undefined;
let nftLog: string;
const children: ResultPromise[] = [];

const status = async (): Promise<Status | undefined> => {
  const res = await ksappIn(lab, ['status', '--json'], { env });
  return res.exitCode === 0 ? JSON.parse(String(res.stdout)) as Status : undefined;
};

before(async () => {
  lab = await createLab({ mode: 'app-only' });
  // nobody reaches the socket through directories only root may write.
  await chmod(lab.dir, 0o755);
  await chmod(path.dirname(lab.dir), 0o711);
  const dir = path.join(lab.dir, 'limits');
  await mkdir(dir, { mode: 0o755 });
  socket = path.join(dir, 'ksapp.sock');
  env = { KSAPP_SOCKET: socket };
  // The daemon's nft, counted: a line when each run starts and one when it ends.
  nftLog = path.join(dir, 'nft.log');
  const nft = path.join(dir, 'nft-counted');
  await writeFile(nft, `#!/bin/sh\necho + >> ${nftLog}\nnft "$@"\nrc=$?\necho - >> ${nftLog}\nexit $rc\n`, { mode: 0o755 });
  const config = await labConfig(lab, 'limits');
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config], { env: { ...env, KSAPP_NFT: nft, KSAPP_IPC_LIMITS: JSON.stringify(LIMITS) } });
  assert.ok(await waitUntil(async () => (await status()) !== undefined, 10_000, 50), 'the daemon answers');
  children.push(ksappIn(lab, ['run', '--name', 'victim', '--', 'sleep', '600'], { env }));
  assert.ok(await waitUntil(async () => (await status())?.apps.some((a) => a.name === 'victim' && a.pids.length > 0) ?? false, 10_000, 50), 'the victim runs');
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon;
  // Kills the victim's `sleep`, which holds its `ksapp run`'s output pipes open (so that child ends only now).
  if (lab) await removeTestGroups(lab);
  await Promise.allSettled(children);
  await lab?.destroy();
});

/** The nft runs logged since `from` (a length of the log): how many, and the most at once. */
async function nftRuns(from: number): Promise<{ runs: number; peak: number; length: number }> {
  const text = await readFile(nftLog, 'utf8').catch(() => '');
  let now = 0;
  let peak = 0;
  let runs = 0;
  for (const mark of text.slice(from).split('\n')) {
    if (mark === '+') { runs++; peak = Math.max(peak, ++now); } else if (mark === '-') now--;
  }
  return { runs, peak, length: text.length };
}

/** Runs the load fixture as nobody in the lab; its JSON lines arrive in `lines`. */
function asNobody(mode: string, n = 1): { lines: Array<Record<string, unknown>>; proc: ResultPromise } {
  const argv = [...lab.nsenterArgs('client'), ...NOBODY, process.execPath, fixturePath('ipc-load.mjs'), socket, mode, String(n)];
  const proc = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', buffer: false });
  children.push(proc);
  return { lines: collectJsonLines(proc.stdout!), proc };
}

test('a flood of status requests on one connection runs a bounded number of nft, and root’s status still answers', async (t) => {
  const before = await nftRuns(0);
  const flood = asNobody('flood', 20_000);
  let rootAnswered: boolean | undefined;
  const t0 = Date.now();
  let rootMs = 0;
  void status().then((s) => { rootAnswered = s !== undefined; rootMs = Date.now() - t0; });
  assert.ok(await waitUntil(() => flood.lines.length > 0 && rootAnswered !== undefined, 60_000, 20), 'the flood is answered');
  const floodMs = Date.now() - t0;
  const { runs, peak } = await nftRuns(before.length);
  t.diagnostic(`20000 requests in ${floodMs} ms: ${runs} nft runs, at most ${peak} at once; root's \`ksapp status\` answered in ${rootMs} ms`);
  assert.deepEqual(flood.lines[0], { answered: 20_000, errors: {} }, 'every request answered, none dropped');
  // One status build (two nft runs) serves every request in flight and is reused for 250 ms; before, each request ran its own (215 nft at once).
  assert.ok(peak <= 4, `at most 4 nft at once, saw ${peak}`);
  assert.ok(runs <= 2 * (Math.ceil(floodMs / 250) + 2), `${runs} nft runs in ${floodMs} ms`);
  assert.equal(rootAnswered, true, 'root’s `ksapp status` answered during the flood');
});

test('connections of one user past the cap are refused with TOO_MANY_CONNECTIONS; root still connects', async () => {
  const held = asNobody('connect', LIMITS.maxConnectionsPerUser + 3);
  assert.ok(await waitUntil(() => held.lines.length > 0, 10_000, 20));
  const got = held.lines[0] as { ok: number; refused: number; codes: Record<string, number>; hint: string };
  assert.equal(got.ok, LIMITS.maxConnectionsPerUser);
  assert.deepEqual(got.codes, { TOO_MANY_CONNECTIONS: 3 });
  assert.match(got.hint, /root is never refused/);
  // nobody's connections are subscribed, so they are not idle: the cap holds while root asks.
  assert.ok(await status(), 'root’s status answers while nobody is at the cap');
  const more = asNobody('connect', 1);
  assert.ok(await waitUntil(() => more.lines.length > 0, 10_000, 20));
  assert.equal(more.lines[0]?.refused, 1, 'still at the cap');
  held.proc.kill('SIGKILL');
  await held.proc;
  const after = asNobody('connect', 1);
  assert.ok(await waitUntil(() => after.lines.length > 0, 10_000, 20));
  assert.equal(after.lines[0]?.ok, 1, 'places are freed when the connections close');
  after.proc.kill('SIGKILL');
});

test('a connection that never asks anything is closed after the idle time-out', async () => {
  const idle = asNobody('idle');
  assert.ok(await waitUntil(() => idle.lines.length > 0, 15_000, 50), 'closed by the daemon');
  const got = idle.lines[0] as { closedAfterMs: number; line: { ok: boolean; error: { code: string } } | null };
  assert.equal(got.line?.error.code, 'IDLE_TIMEOUT');
  assert.ok(got.closedAfterMs >= LIMITS.idleTimeoutMs - 100, `closed after ${got.closedAfterMs} ms, not before the time-out`);
});

test('a subscriber that never reads is disconnected once its unread output passes the bound', async () => {
  const sub = asNobody('noread');
  assert.ok(await waitUntil(() => sub.lines.length > 0, 10_000, 20), 'subscribed');
  // Root makes events (each also brings a fresh status to subscribers): a manual freeze and thaw of the victim, again and again.
  const driver = net.connect(socket);
  driver.on('error', () => undefined);
  driver.on('data', () => undefined);
  await new Promise((r) => driver.once('connect', r));
  let id = 0;
  const timer = setInterval(() => {
    const pairs = Array.from({ length: 5 }, () => `{"id":${++id},"op":"freeze","name":"victim"}\n{"id":${++id},"op":"thaw","name":"victim"}\n`);
    driver.write(pairs.join(''));
  }, 20);
  try {
    assert.ok(await waitUntil(() => sub.lines.some((l) => 'droppedAfterMs' in l), 60_000, 50), 'the daemon dropped the subscriber');
  } finally {
    clearInterval(timer);
    driver.destroy();
  }
  assert.ok(await status(), 'the daemon still answers');
});

test('a user over the app quota is refused with TOO_MANY_APPS', async () => {
  const reg = asNobody('register', LIMITS.maxAppsPerUser + 1);
  assert.ok(await waitUntil(() => reg.lines.length > 0, 20_000, 50));
  const got = reg.lines[0] as { codes: string[]; message: string; hint: string };
  assert.deepEqual(got.codes, [...Array<string>(LIMITS.maxAppsPerUser).fill('ok'), 'TOO_MANY_APPS']);
  assert.match(got.message, /uid 65534 already has 3 apps .*limit per user is 3/);
  assert.match(got.hint, /ksapp release/);
  reg.proc.kill('SIGKILL');
  await reg.proc;
  // Their empty apps go with their connection.
  assert.ok(await waitUntil(async () => (await status())?.apps.every((a) => a.uid !== 65534) ?? false, 10_000, 100));
});

test('a connection flood that fills the socket’s accept queue does not shut root out: root has a socket of its own', async () => {
  // Thousands of connection attempts kept going: the kernel's queue of the shared socket stays full, so connecting to it may fail
  // (EAGAIN) before the daemon sees who asks. Only root may connect to the root socket (mode 0600).
  const churn = asNobody('churn', 1500);
  assert.ok(await waitUntil(() => churn.lines.length > 0, 30_000, 50), 'the flood is on');
  const nobodyRoot = await execa(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, '-e',
    `require('net').connect(${JSON.stringify(rootSocketOf(socket))}).on('error', (e) => { console.log(e.code); process.exit(0); }).on('connect', () => { console.log('connected'); process.exit(0); })`], { reject: false });
  assert.equal(String(nobodyRoot.stdout).trim(), 'EACCES', 'nobody may not use root’s socket');
  for (let i = 0; i < 5; i++) {
    const client = await DaemonClient.connect(rootSocketOf(socket));
    try {
      const s = await client.request<Status>({ op: 'status' });
      assert.ok(s.apps.some((a) => a.name === 'victim'));
    } finally {
      client.close();
    }
  }
  churn.proc.kill('SIGKILL');
  await churn.proc;
});
