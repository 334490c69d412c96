// The daemon's lock files, in a directory of the test's own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
