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

test('a lock holds our pid; a live holder is refused by name; one whose holder was killed is free; the sweep removes only unheld locks', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'netns-1.lock');
  const release = await acquireLock(file, 100);
  assert.equal((await readFile(file, 'utf8')).trim(), String(process.pid));
  assert.deepEqual(await readdir(dir), ['netns-1.lock'], 'no other file');
  await assert.rejects(acquireLock(file, 100), (e: unknown) => e instanceof KsappError && e.code === 'DAEMON_RUNNING' && e.message.includes(String(process.pid)));
  await release();
  assert.deepEqual(await readdir(dir), [], 'the holder removes the file before it lets go');

  // A holder killed with SIGKILL: the kernel dropped its lock, whatever the file still says.
  const lockModule = new URL('../src/daemon/lock.js', import.meta.url).href;
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `const { acquireLock } = await import(${JSON.stringify(lockModule)});
await acquireLock(${JSON.stringify(file)}, 100); console.log('held'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { try { process.kill(holder.pid!, 'SIGKILL'); } catch { /* gone */ } });
  await once(holder.stdout!, 'data');
  await assert.rejects(acquireLock(file, 100), /holds/);
  process.kill(holder.pid!, 'SIGKILL');
  await once(holder, 'exit');
  assert.equal((await readFile(file, 'utf8')).trim(), String(holder.pid), 'the dead holder left its file');
  const again = await acquireLock(file, 100);
  assert.equal((await readFile(file, 'utf8')).trim(), String(process.pid), 'and the lock is free');

  const dead = path.join(dir, 'netns-2.lock');
  await writeFile(dead, `${deadPid()}\n`);
  await writeFile(path.join(dir, 'other.txt'), `${deadPid()}\n`);
  assert.deepEqual(await sweepStaleLocks(dir), [dead], 'only the lock nobody holds');
  assert.deepEqual((await readdir(dir)).sort(), ['netns-1.lock', 'other.txt']);
  await again();
});

test('eight daemons racing for one lock left by a dead one: one holder at a time, and nothing left behind', async (t) => {
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
