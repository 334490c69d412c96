// Finding, moving and releasing real processes in a test cgroup (no network needed).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Cgroup, cgroupRoot } from '../cgroups/index.js';
import { AdoptError, findByExe, findByPid, findByRule, moveInto, procCgroup, release, resolveCgroupPath } from '../src/adopt/index.js';
import { fixturePath } from '../src/lab/index.js';

const root = await cgroupRoot().catch(() => undefined);
const skip = process.getuid?.() !== 0 ? 'needs root' : root === undefined ? 'no cgroup2 mount' : false;

const killPid = (pid: number): void => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } };
const rel = (g: Cgroup): string => '/' + path.relative(root!, g.path);

/** A per-run group with `old` (where the test's processes start) and `app` (the adoption target); emptied and removed after. */
async function groups(t: TestContext): Promise<{ top: Cgroup; old: Cgroup; app: Cgroup }> {
  const top = await Cgroup.create(path.join(root!, `ksapp-adopt-${process.pid}-${randomBytes(3).toString('hex')}`));
  t.after(async () => {
    for (const pid of await top.allPids().catch(() => [])) killPid(pid);
    await top.kill(3000).catch(() => undefined);
    await top.remove();
  });
  return { top, old: await top.createChild('old'), app: await top.createChild('app') };
}

/** Starts argv inside `group` (it joins before exec), ended by pid after the test; stdout lines parsed as JSON. */
function start(t: TestContext, group: Cgroup, argv: string[]): { child: ChildProcess; lines: Record<string, unknown>[] } {
  const child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group.path, ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => { try { lines.push(JSON.parse(l)); } catch { /* not JSON */ } });
  t.after(() => { if (child.pid !== undefined) killPid(child.pid); });
  return { child, lines };
}

async function until<T>(what: string, get: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> {
  for (const deadline = Date.now() + ms; ; await delay(10)) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

async function aKernelThread(): Promise<number> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || name === '2') continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === '2') return Number(name);
  }
  throw new Error('no kernel thread found');
}

const typed = (code: string) => (e: unknown) => e instanceof AdoptError && e.code === code && e.exitCode === 2;

test('a forking server is adopted with its children and grandchildren while it keeps forking, and released back', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const { lines } = start(t, old, [process.execPath, fixturePath('adopt-forker.mjs'), '--workers', '3', '--churn', '5']);
  const ready = await until('forker ready', () => lines.find((l) => l.event === 'ready')) as { pid: number; workers: number[]; grandchildren: number[] };
  const tree = [ready.pid, ...ready.workers, ...ready.grandchildren];
  const found = await findByPid(ready.pid);
  for (const pid of tree) assert.ok(found.pids.includes(pid), `found ${pid}`);
  assert.equal(found.pids[0], ready.pid, 'parents first');
  const adoption = await moveInto(app, found.pids, { root });
  const inApp = await app.procs();
  for (const pid of tree) assert.ok(inApp.includes(pid), `${pid} in the app group`);
  assert.ok(adoption.moved.every((m) => m.from === rel(old)));
  // Children forked before their parent moved were followed; later ones are born in the app group.
  await until('old group empty', async () => (await old.procs()).length === 0, 3000);
  const report = await release(adoption, { root });
  assert.deepEqual(report.fallback, []);
  assert.deepEqual(report.stuck, []);
  for (const pid of tree) assert.equal(await procCgroup(pid), rel(old), `${pid} back where it came from`);
  await until('app group empty', async () => (await app.allPids()).length === 0, 3000);
});

test('a process that exits during adoption is skipped and reported; a zombie counts as exited', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const sleeper = start(t, old, ['sleep', '1000']).child;
  const quick = start(t, old, ['true']).child;
  await new Promise((resolve) => quick.once('exit', resolve));
  const parent = start(t, old, ['sh', '-c', 'sleep 0.01 & exec sleep 1000']).child;
  const zombie = await until('zombie', async () => {
    const kids = (await readFile(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8')).trim();
    const stat = kids ? await readFile(`/proc/${kids}/stat`, 'utf8').catch(() => '') : '';
    return / Z /.test(stat) ? Number(kids) : undefined;
  });
  const adoption = await moveInto(app, [sleeper.pid!, quick.pid!, zombie], { root });
  assert.deepEqual(adoption.moved.map((m) => m.pid), [sleeper.pid]);
  assert.deepEqual(adoption.gone.sort(), [quick.pid!, zombie].sort());
});

test('any other failure moves back what was already moved (nothing half adopted)', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const a = start(t, old, ['sleep', '1000']).child;
  const b = start(t, old, ['sleep', '1000']).child;
  await until('started', async () => (await old.procs()).length === 2 && (await procCgroup(b.pid!)) === rel(old));
  // The kernel refuses to move a kernel thread (EINVAL): a failure that is not "process gone".
  const kthread = await aKernelThread();
  await assert.rejects(moveInto(app, [a.pid!, b.pid!, kthread], { root }), (e) => e instanceof AdoptError && e.code === 'ADOPT_MOVE_FAILED' && /put back/.test(e.message));
  assert.equal(await procCgroup(a.pid!), rel(old));
  assert.equal(await procCgroup(b.pid!), rel(old));
  assert.deepEqual(await app.procs(), []);
});

test('release: a process whose former group is gone goes to the nearest ancestor', { skip }, async (t) => {
  const { top, app } = await groups(t);
  const gone = await top.createChild('gone');
  const p = start(t, gone, ['sleep', '1000']).child;
  await until('joined', async () => (await procCgroup(p.pid!)) === rel(gone));
  const adoption = await moveInto(app, [p.pid!], { root });
  await gone.remove();
  const report = await release(adoption, { root });
  assert.deepEqual(report.fallback, [{ pid: p.pid, wanted: rel(gone), to: rel(top) }]);
  assert.equal(await procCgroup(p.pid!), rel(top));
});

test('bad input is a typed error with exit status 2, and nothing is adopted', { skip }, async (t) => {
  const { old, app } = await groups(t);
  const { lines } = start(t, old, [process.execPath, fixturePath('adopt-forker.mjs'), '--workers', '1']);
  const ready = await until('ready', () => lines.find((l) => l.event === 'ready')) as { pid: number };
  const pids = new Set((await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map(Number));
  let missing = 4_000_000;
  while (pids.has(missing)) missing--;
  await assert.rejects(findByPid(missing), typed('ADOPT_NO_SUCH_PID'));
  await assert.rejects(findByPid(1), typed('ADOPT_PID_ONE'));
  await assert.rejects(findByPid(process.pid), typed('ADOPT_SELF'));
  await assert.rejects(findByPid(ready.pid, { self: ready.pid }), typed('ADOPT_SELF'));
  await assert.rejects(findByPid(2), typed('ADOPT_KERNEL_THREAD'));
  await assert.rejects(findByPid(await aKernelThread()), typed('ADOPT_KERNEL_THREAD'));
  for (const bad of [0, -5, 1.5, Number.NaN]) await assert.rejects(findByPid(bad), typed('ADOPT_BAD_PID'));
  await assert.rejects(findByExe('/nonexistent/ksapp-no-such-binary'), typed('ADOPT_NO_MATCH'));
  await assert.rejects(findByExe('sleep'), typed('ADOPT_BAD_EXE'));
  await assert.rejects(findByRule({}), typed('ADOPT_BAD_RULE'));
  await assert.rejects(findByRule({ user: 'ksapp-no-such-user' }), typed('ADOPT_NO_SUCH_USER'));
  assert.throws(() => resolveCgroupPath(`${path.relative(root!, app.path)}/../old`, { root: root! }), typed('ADOPT_BAD_CGROUP_PATH'));
  assert.throws(() => resolveCgroupPath('/tmp', { root: root! }), typed('ADOPT_BAD_CGROUP_PATH'));
  assert.throws(() => resolveCgroupPath(root!, { root: root! }), typed('ADOPT_CGROUP_ROOT'));
  assert.equal(resolveCgroupPath(path.relative(root!, app.path), { root: root! }), app.path);
  assert.deepEqual(await app.allPids(), [], 'nothing was adopted');
  // A thread id is accepted and means its whole process.
  const tids = (await readdir(`/proc/${ready.pid}/task`)).map(Number).filter((tid) => tid !== ready.pid);
  assert.ok(tids.length > 0);
  assert.deepEqual((await findByPid(tids[0]!)).roots, [ready.pid]);
});

test('find by exe, name and user: every instance with its children; a deleted (upgraded) binary still matches', { skip }, async (t) => {
  const { old } = await groups(t);
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-adopt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const name = `ksad${randomBytes(3).toString('hex')}`;
  const bin = path.join(dir, name);
  await copyFile('/bin/sleep', bin);
  await import('node:fs/promises').then((fs) => fs.chmod(bin, 0o755));
  const parent = start(t, old, ['sh', '-c', '"$0" 1000 & exec "$0" 1000', bin]).child;
  const other = start(t, old, [bin, '1000']).child;
  const child = await until('child', async () => Number((await readFile(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8')).trim()) || undefined);
  await until('exec', async () => (await findByExe(bin).catch(() => undefined))?.pids.length === 3);
  const byExe = await findByExe(bin);
  assert.deepEqual(byExe.roots.sort(), [parent.pid!, other.pid!].sort(), 'a match whose parent matched is not a root');
  assert.deepEqual(byExe.pids.sort(), [parent.pid!, other.pid!, child].sort());
  const byName = await findByRule({ name, user: 'root' });
  assert.deepEqual(byName.pids.sort(), byExe.pids.sort());
  await assert.rejects(findByRule({ name, user: 65534 }), typed('ADOPT_NO_MATCH'));
  await rm(bin);
  assert.deepEqual((await findByExe(bin)).pids.sort(), byExe.pids.sort(), '" (deleted)" is ignored');
});
