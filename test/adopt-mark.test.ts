// Marking sockets of another process through pidfd_getfd + SO_MARK, against the real kernel. Nothing is
// sent: the test's own children open sockets (one in a network namespace of its own) and the marks are
// read back with ss.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { execa } from 'execa';
import { clearMarks, heldSockets, markSockets } from '../src/adopt/index.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const MARK = 0x6b73fffe;

/** Starts a node child (argv prefix `wrap`, e.g. unshare) that opens sockets, prints "ready" and waits. */
async function holder(t: TestContext, wrap: string[], script: string): Promise<ChildProcess> {
  const argv = [...wrap, process.execPath, '-e', script];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => { try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ } });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.match(line.toString(), /ready/);
  return child;
}

/** Inodes of the process's UDP (v4) sockets, from its namespace's table. */
async function udpOf(pid: number): Promise<number[]> {
  const table = await readFile(`/proc/${pid}/net/udp`, 'utf8');
  const listed = new Set(table.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[9])).filter((n) => n > 0));
  return [...(await heldSockets([pid])).keys()].filter((i) => listed.has(i));
}

test('a UDP socket of another process takes the mark; a unix socket and a socket of another namespace do not', { skip }, async (t) => {
  const sock = path.join(tmpdir(), `ksapp-mark-${process.pid}.sock`);
  t.after(() => rm(sock, { force: true }));
  const local = await holder(t, [], `
    const dgram = require('node:dgram'), net = require('node:net');
    const u = dgram.createSocket('udp4');
    u.bind(0, '127.0.0.1', () => net.createServer().listen(${JSON.stringify(sock)}, () => console.log('ready')));
    setInterval(() => {}, 1000);`);
  const pid = local.pid!;
  const [udp] = await udpOf(pid);
  assert.ok(udp, 'the child holds a UDP socket');
  // Any other socket it holds is a unix one: the listener, or the socketpair node uses for stdout.
  const unix = [...(await heldSockets([pid])).keys()].find((i) => i !== udp);
  const outcomes = await markSockets(new Map([[udp!, [pid]], ...(unix ? [[unix, [pid]] as [number, number[]]] : [])]), MARK);
  assert.deepEqual(outcomes.get(udp!), { marked: true });
  const ss = await execa('ss', ['-a', '-H', '-O', '-e', '-n', '-u']);
  const line = String(ss.stdout).split('\n').find((l) => l.includes(`ino:${udp} `));
  assert.match(line ?? '', new RegExp(`fwmark:0x${MARK.toString(16)}`), 'the kernel holds the mark');
  // A release takes off ksapp's mark only: another mark (as if the app had set its own) stays.
  assert.equal(await clearMarks([pid], 0x1), 0);
  assert.equal(await clearMarks([pid], MARK), 1);
  const after = String((await execa('ss', ['-a', '-H', '-O', '-e', '-n', '-u'])).stdout).split('\n').find((l) => l.includes(`ino:${udp} `));
  assert.doesNotMatch(after ?? '', /fwmark/, 'the mark is gone');
  if (unix) {
    const u = outcomes.get(unix);
    assert.equal(u?.marked, false);
    assert.match(u && !u.marked ? u.reason : '', /not an internet socket/);
  }

  // unshare --net: a namespace of the child's own that ends with it.
  const other = await holder(t, ['unshare', '--net', '--'], `
    const u = require('node:dgram').createSocket('udp4');
    u.bind(0, () => console.log('ready'));
    setInterval(() => {}, 1000);`);
  const [foreign] = await udpOf(other.pid!);
  assert.ok(foreign);
  const f = (await markSockets(new Map([[foreign!, [other.pid!]]]), MARK)).get(foreign!);
  assert.equal(f?.marked, false);
  assert.match(f && !f.marked ? f.reason : '', /another network namespace/);

  const gone = (await markSockets(new Map([[udp!, [999_999_999]]]), MARK)).get(udp!);
  assert.deepEqual(gone, { marked: false, reason: 'no process of the app holds it any more' });
});
