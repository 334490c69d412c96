// Sockets opened before adoption, in a network namespace of the test's own with loopback listeners.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Cgroup, cgroupRoot } from '../cgroups/index.js';
import { closeOldSockets, findByPid, heldSockets, listSockets, moveInto } from '../src/adopt/index.js';
import { fixturePath } from '../src/lab/index.js';
import { runTool } from '../src/tools.js';

const root = await cgroupRoot().catch(() => undefined);
const skip = process.getuid?.() !== 0 ? 'needs root' : root === undefined ? 'no cgroup2 mount' : false;
const ns = `ksapp-adopt-${randomBytes(3).toString('hex')}`;
const PORT = 9100;
type Line = Record<string, unknown> & { event?: string; proto?: string; src?: number; line?: string; t?: number };

const killPid = (pid: number): void => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } };
const inNs = (argv: string[]): string[] => ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
let listener: { child: ChildProcess; lines: Line[] };

function track(t: TestContext | undefined, child: ChildProcess): { child: ChildProcess; lines: Line[] } {
  const lines: Line[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => { try { lines.push(JSON.parse(l)); } catch { /* not JSON */ } });
  if (t) t.after(() => { if (child.pid !== undefined) killPid(child.pid); });
  return { child, lines };
}

/** Starts argv in the namespace inside `group` (joined before exec). */
function start(t: TestContext, group: Cgroup, argv: string[]): { child: ChildProcess; lines: Line[] } {
  return track(t, spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group.path, ...inNs(argv)], { stdio: ['ignore', 'pipe', 'ignore'] }));
}

async function until<T>(what: string, get: () => T | undefined | false | Promise<T | undefined | false>, ms = 5000): Promise<T> {
  for (const deadline = Date.now() + ms; ; await delay(10)) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

async function groups(t: TestContext): Promise<{ old: Cgroup; app: Cgroup }> {
  const top = await Cgroup.create(path.join(root!, `ksapp-adopt-${process.pid}-${randomBytes(3).toString('hex')}`));
  t.after(async () => {
    for (const pid of await top.allPids().catch(() => [])) killPid(pid);
    await top.kill(3000).catch(() => undefined);
    await top.remove();
  });
  return { old: await top.createChild('old'), app: await top.createChild('app') };
}

/** Starts the app fixture in `old`, waits until its four sockets send, and adopts it into `app`. */
async function adoptedApp(t: TestContext, old: Cgroup, app: Cgroup, extra: string[] = []) {
  const proc = start(t, old, [process.execPath, fixturePath('adopt-app.mjs'), '--port', String(PORT), '--listen', String(PORT + 1), '--interval', '20', ...extra]);
  const ready = await until('app ready', () => proc.lines.find((l) => l.event === 'ready')) as unknown as { pid: number; ports: Record<'udp4' | 'udp6' | 'tcp4' | 'tcp6', number> };
  await until('traffic from all four sockets', () => ['udp4', 'udp6', 'tcp4', 'tcp6'].every((k) => listener.lines.some((l) => l.line?.startsWith(`${k} `) && l.src === (ready.ports as Record<string, number>)[k])));
  const adoption = await moveInto(app, (await findByPid(ready.pid)).pids, { root });
  return { proc, ready, adoption };
}

/** Lines the listener got after `since` whose text names the old socket `kind`/`port`. */
const fromOld = (kind: string, port: number, since: number): Line[] => listener.lines.filter((l) => (l.t ?? 0) > since && l.line?.startsWith(`${kind} ${port} `));

before(async () => {
  if (skip) return;
  await runTool('ip', ['netns', 'add', ns]);
  await runTool('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  listener = track(undefined, spawn(inNs([process.execPath, fixturePath('adopt-listener.mjs'), '--port', String(PORT)])[0]!, inNs([process.execPath, fixturePath('adopt-listener.mjs'), '--port', String(PORT)]).slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }));
  await until('listener ready', () => listener.lines.some((l) => l.event === 'ready'));
});
after(async () => {
  if (skip) return;
  if (listener?.child.pid !== undefined) killPid(listener.child.pid);
  await runTool('ip', ['netns', 'del', ns]).catch(() => undefined);
});

test('old sockets: TCP (v4, v6, listening) destroyed for good; UDP (v4, v6) reported, and frozen nothing leaves', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const { proc, ready } = await adoptedApp(t, old, app);
  const t0 = Date.now();
  const result = await closeOldSockets(app, { root });
  t.diagnostic(`closeOldSockets took ${Date.now() - t0} ms for ${result.sockets.length} sockets`);
  const byPort = (p: number) => result.sockets.find((s) => s.local?.endsWith(`:${p}`));
  for (const k of ['tcp4', 'tcp6'] as const) assert.match(byPort(ready.ports[k])?.outcome ?? 'missing', /^(closed|aborted)$/, k);
  assert.deepEqual(result.listenersClosed.map((s) => s.local), [`127.0.0.1:${PORT + 1}`]);
  assert.deepEqual(result.unprotected.map((s) => s.kind).sort(), ['udp', 'udp']);
  assert.deepEqual(result.unprotected.map((s) => s.inode).sort(), [byPort(ready.ports.udp4)!.inode, byPort(ready.ports.udp6)!.inode].sort());
  assert.ok(result.unprotected.every((s) => /sendto/.test(s.reason)));
  await until('the app saw both TCP connections reset', () => ['tcp4', 'tcp6'].every((k) => proc.lines.some((l) => l.event === 'error' && l.kind === k && l.code === 'ECONNABORTED')));
  // In flight before the destroy may still be read; nothing may come after.
  const settled = Date.now() + 100;
  await delay(600);
  for (const k of ['tcp4', 'tcp6'] as const) assert.deepEqual(fromOld(k, ready.ports[k], settled), [], `${k}: nothing after the destroy`);
  // The kernel fact behind the verdict: the naive app's destroyed UDP socket sends again.
  assert.ok(fromOld('udp4', ready.ports.udp4, settled).length > 0, 'a destroyed UDP socket keeps sending after sendto() rebinds it');
  // What the daemon does with an unprotected app: keep it frozen. Then not one packet leaves.
  await app.freeze();
  const frozen = Date.now() + 100;
  await delay(600);
  assert.deepEqual(listener.lines.filter((l) => (l.t ?? 0) > frozen && l.src !== undefined), []);
});

test('a well-behaved app replaces what was destroyed: all its sockets end up in its group', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const { proc, ready } = await adoptedApp(t, old, app, ['--reopen']);
  const result = await closeOldSockets(app, { root, graceMs: 1000 });
  assert.deepEqual(result.unprotected, []);
  assert.ok(result.sockets.every((s) => ['closed', 'aborted', 'ignored', 'confined'].includes(s.outcome)));
  const reopened = await until('four sockets reopened', () => {
    const r = proc.lines.filter((l) => l.event === 'reopened');
    return r.length >= 4 && r;
  });
  const held = await heldSockets(await app.allPids());
  const listed = (await listSockets(ready.pid)).filter((s) => held.has(s.inode));
  assert.ok(listed.length >= 4);
  for (const s of listed) assert.equal(s.cgroup, '/' + path.relative(root!, app.path), `${s.netid} ${s.local.port} is in the app's group`);
  const since = Date.now() + 100;
  await until('traffic from the new sockets', () => reopened.every((r) => listener.lines.some((l) => (l.t ?? 0) > since && l.line?.startsWith(`${String(r.kind)} ${String(r.port)} `))));
  for (const k of ['udp4', 'udp6', 'tcp4', 'tcp6'] as const) assert.deepEqual(fromOld(k, ready.ports[k], since), [], `${k}: old socket silent`);
});

test('check only (destroy: false) reports without touching anything', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const { ready } = await adoptedApp(t, old, app);
  const result = await closeOldSockets(app, { root, destroy: false });
  assert.equal(result.unprotected.length, 5, 'two UDP, two TCP connections, one listener');
  assert.ok(result.unprotected.every((s) => /check only/.test(s.reason)));
  const since = Date.now();
  await until('old TCP still sending', () => fromOld('tcp4', ready.ports.tcp4, since).length > 0);
});

test('a socket that shares its addresses and ports with another process is not destroyed (the other keeps its own)', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const code = `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});s.bind(${PORT + 2},'127.0.0.1',()=>console.log('{"event":"ready"}'));setInterval(()=>{},1e9)`;
  const mine = start(t, old, [process.execPath, '-e', code]);
  const theirs = start(t, old, [process.execPath, '-e', code]);
  await until('both bound', () => mine.lines.length > 0 && theirs.lines.length > 0);
  await moveInto(app, [mine.child.pid!], { root });
  const result = await closeOldSockets(app, { root });
  const udp = result.sockets.filter((s) => s.kind === 'udp');
  assert.equal(udp.length, 1);
  assert.equal(udp[0]!.outcome, 'unprotected');
  assert.match(udp[0]!.reason, /same addresses and ports/);
  const still = (await listSockets(mine.child.pid!)).filter((s) => s.local.port === PORT + 2);
  assert.equal(still.length, 2, "neither socket was destroyed");
});
