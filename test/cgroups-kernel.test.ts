import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Cgroup, CgroupError, cgroupRoot, parseProcCgroup } from '../cgroups/index.js';

const root = await cgroupRoot().catch(() => undefined);
const skip = process.getuid?.() !== 0 ? 'needs root' : root === undefined ? 'no cgroup2 mount' : false;
const isCode = (code: string) => (e: unknown) => e instanceof CgroupError && e.code === code;

/** A fresh top-level group for one test, killed and removed afterwards even when the test fails. */
async function tempGroup(t: TestContext): Promise<Cgroup> {
  const group = await Cgroup.create(path.join(root!, `ksapp-test-${process.pid}-${randomBytes(4).toString('hex')}`));
  t.after(async () => {
    for (const pid of await group.allPids().catch(() => [])) killPid(pid);
    await group.kill(2000).catch(() => undefined);
    await group.thaw(500).catch(() => undefined);
    await group.remove();
  });
  return group;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Spawns a process that is ended by pid after the test. */
function spawnTracked(t: TestContext, argv: string[], stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  const [file, ...args] = argv;
  const child = spawn(file!, args, { stdio: ['ignore', stdout, 'ignore'] });
  t.after(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) killPid(child.pid);
  });
  return child;
}

/** Spawns argv already inside `group`: the shell joins the group, then execs, so even early forks are caught. */
function spawnInGroup(t: TestContext, group: Cgroup, argv: string[], stdout: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  return spawnTracked(t, ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group.path, ...argv], stdout);
}

/** True when the pid is gone or a zombie: the group empties at exit, before the orphans' reaper collects them. */
async function isDead(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

test('create is mkdir -p and idempotent; open needs an existing cgroup', { skip }, async (t) => {
  const group = await tempGroup(t);
  const deep = await Cgroup.create(path.join(group.path, 'a', 'b'));
  assert.equal(deep.path, path.join(group.path, 'a', 'b'));
  await Cgroup.create(deep.path);
  assert.equal(Cgroup.open(deep.path + '/').path, deep.path);
  assert.deepEqual((await group.children()).map((c) => c.path), [path.join(group.path, 'a')]);
  assert.throws(() => Cgroup.open(path.join(group.path, 'missing')), isCode('CGROUP_NOT_FOUND'));
  const plain = await mkdtemp(path.join(tmpdir(), 'ksapp-notcg-'));
  t.after(() => rm(plain, { recursive: true, force: true }));
  assert.throws(() => Cgroup.open(plain), isCode('CGROUP_NOT_FOUND'));
});

test('addPid moves a process; procs lists the group, allPids the subtree', { skip }, async (t) => {
  const group = await tempGroup(t);
  const inner = await group.createChild('inner');
  const a = spawnTracked(t, ['sleep', '100']);
  const b = spawnTracked(t, ['sleep', '100']);
  await group.addPid(a.pid!);
  await inner.addPid(b.pid!);
  const expected = '/' + path.relative(root!, group.path);
  assert.equal(parseProcCgroup(await readFile(`/proc/${a.pid}/cgroup`, 'utf8')), expected);
  assert.equal(parseProcCgroup(await readFile(`/proc/${b.pid}/cgroup`, 'utf8')), `${expected}/inner`);
  assert.deepEqual(await group.procs(), [a.pid]);
  assert.deepEqual(await inner.procs(), [b.pid]);
  assert.deepEqual(await group.allPids(), [a.pid!, b.pid!].sort((x, y) => x - y));
  assert.deepEqual(await group.pids(), await group.allPids());
  assert.deepEqual(await group.events(), { populated: true, frozen: false });
});

test('freeze stops the processes until thaw', { skip }, async (t) => {
  const group = await tempGroup(t);
  const ticker = spawnInGroup(t, group, ['sh', '-c', 'while :; do echo x; sleep 0.02; done'], 'pipe');
  let ticks = 0;
  ticker.stdout!.on('data', (chunk: Buffer) => { ticks += chunk.length; });
  await until('the ticker to run', async () => ticks > 0);

  await group.freeze();
  assert.equal(await group.isFrozen(), true);
  assert.deepEqual(await group.events(), { populated: true, frozen: true });
  await delay(50); // let output written before the freeze drain from the pipe
  const frozenAt = ticks;
  await delay(200);
  assert.equal(ticks, frozenAt, 'a frozen process must not run');

  await group.thaw();
  assert.equal(await group.isFrozen(), false);
  await once(ticker.stdout!, 'data');
});

test('freeze and thaw of an empty group resolve; a child of a frozen parent cannot thaw', { skip }, async (t) => {
  const group = await tempGroup(t);
  const inner = await group.createChild('inner');
  spawnInGroup(t, inner, ['sleep', '100']);
  await until('the sleeper to join', async () => (await inner.procs()).length === 1);
  await group.freeze();
  assert.equal(await inner.isFrozen(), true, 'freezing is inherited by descendants');
  await assert.rejects(inner.thaw(200), isCode('CGROUP_TIMEOUT'));
  await group.thaw();
  assert.equal(await inner.isFrozen(), false);

  const empty = await group.createChild('empty');
  await empty.freeze();
  assert.equal(await empty.isFrozen(), true);
  await empty.thaw();
});

test('watchPopulated fires once when the last process exits, and at once for an empty group', { skip }, async (t) => {
  const group = await tempGroup(t);
  const sleeper = spawnTracked(t, ['sleep', '100']);
  await group.addPid(sleeper.pid!);
  let calls = 0;
  const emptied = new Promise<void>((resolve) => {
    const stop = group.watchPopulated(() => { calls++; resolve(); });
    t.after(stop);
  });
  process.kill(sleeper.pid!, 'SIGTERM');
  await emptied;
  assert.equal((await group.events()).populated, false);

  const empty = await group.createChild('empty');
  await new Promise<void>((resolve) => { t.after(empty.watchPopulated(resolve)); });
  assert.equal(calls, 1);
});

test('kill empties a group whose process forked, even when frozen', { skip }, async (t) => {
  const group = await tempGroup(t);
  const shell = spawnInGroup(t, group, ['sh', '-c', 'sleep 100 & sleep 100']);
  await until('the shell and its children', async () => (await group.allPids()).length >= 3);
  const pids = await group.allPids();
  await group.freeze();
  const exited = once(shell, 'exit');
  await group.kill();
  assert.deepEqual(await group.allPids(), []);
  assert.equal((await group.events()).populated, false);
  assert.deepEqual(await exited, [null, 'SIGKILL']);
  for (const pid of pids) assert.equal(await isDead(pid), true, `pid ${pid} must be dead`);
});

test('remove deletes children depth-first, tolerates a missing group, refuses a populated one', { skip }, async (t) => {
  const group = await tempGroup(t);
  const leaf = await Cgroup.create(path.join(group.path, 'x', 'y'));
  const busy = await group.createChild('busy');
  const sleeper = spawnTracked(t, ['sleep', '100']);
  await busy.addPid(sleeper.pid!);
  await assert.rejects(group.remove(), isCode('CGROUP_BUSY'));
  assert.throws(() => Cgroup.open(leaf.path), isCode('CGROUP_NOT_FOUND'), 'empty children went first');
  await busy.kill();
  await group.remove();
  assert.throws(() => Cgroup.open(group.path), isCode('CGROUP_NOT_FOUND'));
  await group.remove();
});

test('addPid errors: a gone process, pid 0, a missing group; bad child names', { skip }, async (t) => {
  const group = await tempGroup(t);
  // Above PID_MAX_LIMIT (4194304), so no process can have it.
  await assert.rejects(group.addPid(4_194_305), (e: unknown) => isCode('CGROUP_NO_SUCH_PROCESS')(e) && /is gone/.test((e as Error).message));
  await assert.rejects(group.addPid(0), isCode('CGROUP_BAD_PID'));
  await assert.rejects(group.addPid(-1), isCode('CGROUP_BAD_PID'));
  await assert.rejects(group.child('never-created').addPid(process.pid), isCode('CGROUP_NOT_FOUND'));
  assert.equal(parseProcCgroup(await readFile('/proc/self/cgroup', 'utf8')), '/', 'the test runner itself never moved');
  for (const name of ['..', 'a/b', '', 'x'.repeat(65)]) assert.throws(() => group.child(name), isCode('CGROUP_BAD_NAME'));
});
