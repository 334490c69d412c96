// The native readers' queues to JavaScript are bounded: a JavaScript thread that falls behind a
// flood of kernel events loses batches, hears of the loss, and starts over from a fresh dump
// instead of growing the daemon without bound.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadAddon } from '../src/native/load.js';

const run = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root' : loadAddon('rtnetlink') === undefined ? 'the rtnetlink addon is not built' : false;

test('rtnetlink: a flood while JavaScript is blocked arrives as at most 64 batches, then an overrun and a fresh dump', { skip, timeout: 60_000 }, async (t) => {
  const ns = `ksq-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-queue-'));
  await run('ip', ['netns', 'add', ns]);
  t.after(async () => {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  // Each veth pair is made, brought up, given an address and taken down again: several messages a pair, each its own read.
  const links = 300;
  const lines: string[] = [];
  for (let i = 0; i < links; i++) {
    lines.push(`link add kqa${i} type veth peer name kqb${i}`, `link set kqa${i} up`, `address add 10.${i >> 8}.${i & 255}.1/32 dev kqa${i}`, `link set kqa${i} down`);
  }
  const batch = path.join(dir, 'batch');
  await writeFile(batch, `${lines.join('\n')}\n`);
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, path.resolve('test/fixtures/netlink-flood.mjs'), batch, String(links)], { timeout: 50_000 });
  const r = JSON.parse(stdout) as { queuedBeforeLoss: number; overruns: number; doneAfterOverrun: boolean | null };
  t.diagnostic(`batches queued while blocked: ${r.queuedBeforeLoss}; overruns: ${r.overruns}`);
  assert.ok(r.overruns >= 1, 'the loss is reported');
  assert.ok(r.queuedBeforeLoss > 0 && r.queuedBeforeLoss <= 64, `at most 64 batches wait for JavaScript (got ${r.queuedBeforeLoss})`);
  assert.equal(r.doneAfterOverrun, true, 'a fresh dump follows the loss');
});
