// The daemon's lock files, in a directory of the test's own.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { acquireLock, sweepStaleLocks } from '../src/daemon/lock.js';
import { KsappError } from '../src/errors.js';

/** The pid of a process that has already exited. */
const deadPid = (): number => spawnSync('true').pid!;

test('a lock holds our pid; a live holder is refused by name, a dead one taken over; the sweep removes only dead locks', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'netns-1.lock');
  const release = await acquireLock(file, 100);
  assert.equal((await readFile(file, 'utf8')).trim(), String(process.pid));
  assert.deepEqual(await readdir(dir), ['netns-1.lock'], 'no file of the taking left behind');
  await assert.rejects(acquireLock(file, 100), (e: unknown) => e instanceof KsappError && e.code === 'DAEMON_RUNNING' && e.message.includes(String(process.pid)));
  await release();
  assert.deepEqual(await readdir(dir), []);

  await writeFile(file, `${deadPid()}\n`);
  const again = await acquireLock(file, 100);
  assert.equal((await readFile(file, 'utf8')).trim(), String(process.pid), 'a dead holder is taken over');
  await again();

  const live = path.join(dir, 'cgroup-ksapp.lock');
  await writeFile(live, `${process.pid}\n`);
  const dead = path.join(dir, 'netns-2.lock');
  await writeFile(dead, `${deadPid()}\n`);
  const halfTaken = path.join(dir, `netns-3.lock.${deadPid()}`);
  await writeFile(halfTaken, 'x');
  await writeFile(path.join(dir, 'other.txt'), `${deadPid()}\n`);
  assert.deepEqual((await sweepStaleLocks(dir)).sort(), [dead, halfTaken].sort());
  assert.deepEqual((await readdir(dir)).sort(), ['cgroup-ksapp.lock', 'other.txt']);
});

test('eight daemons racing for one stale lock: one holder at a time, and nothing left behind', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-lockrace-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'netns-9.lock');
  const log = path.join(dir, 'holds.log');
  await writeFile(file, `${deadPid()}\n`);
  const lockModule = new URL('../src/daemon/lock.js', import.meta.url).href;
  const script = `import { appendFileSync } from 'node:fs';
const { acquireLock } = await import(${JSON.stringify(lockModule)});
const release = await acquireLock(${JSON.stringify(file)}, 20000);
appendFileSync(${JSON.stringify(log)}, 'enter ' + process.pid + '\\n');
await new Promise((r) => setTimeout(r, 50));
appendFileSync(${JSON.stringify(log)}, 'leave ' + process.pid + '\\n');
await release();`;
  const racers = Array.from({ length: 8 }, () => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] }));
  t.after(() => { for (const r of racers) { try { process.kill(r.pid!, 'SIGKILL'); } catch { /* done */ } } });
  const codes = await Promise.all(racers.map(async (r) => (await once(r, 'exit'))[0] as number));
  assert.deepEqual(codes, racers.map(() => 0));
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 16);
  for (let i = 0; i < lines.length; i += 2) {
    const [enter, who] = lines[i]!.split(' ');
    assert.equal(enter, 'enter');
    assert.equal(lines[i + 1], `leave ${who}`, `one holder at a time:\n${lines.join('\n')}`);
  }
  assert.deepEqual(await readdir(dir), ['holds.log'], 'no lock, no file of a taking or a takeover left');
});
