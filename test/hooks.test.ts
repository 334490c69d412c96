// Event hooks against real tiny programs: the event as JSON on stdin and in KSAPP_EVENT_* variables, run as
// the named user, killed after its time limit, never started inside the caller's turn, a flood dropped and said.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { describeRun, hookEnv, HookRunner, readyHooks, type ReadyHook } from '../src/daemon/hooks.js';
import type { EventRecord } from '../src/ipc/protocol.js';
import type { SupervisorEvent } from '../src/supervisor/index.js';

const skip = process.getuid?.() !== 0 ? 'needs root (hooks run as another user)' : false;
const event: EventRecord = { at: '2026-11-30T07:00:00.000Z', type: 'app-frozen', app: 'qb', tunnel: 'wg0', detail: 'tunnel wg0 down: wg0 deleted' };

test('the event in the variables, and each outcome in the log\'s words', () => {
  const env = hookEnv(event);
  assert.deepEqual([env.KSAPP_EVENT_TYPE, env.KSAPP_EVENT_APP, env.KSAPP_EVENT_TUNNEL, env.KSAPP_EVENT_DETAIL], ['app-frozen', 'qb', 'wg0', 'tunnel wg0 down: wg0 deleted']);
  assert.deepEqual(JSON.parse(env.KSAPP_EVENT!), event);
  const hook: ReadyHook = { label: 'hooks[0]', on: new Set(['app-frozen']), argv: ['/bin/alert'], uid: 65534, gid: 65534, timeout: 500 };
  const r = { exitCode: 0, signal: undefined, stdout: 'sent\n', stderr: '', error: undefined, timedOut: false };
  assert.deepEqual(describeRun(hook, event, r), { ok: true, detail: 'hooks[0] (/bin/alert) for app-frozen of qb exited 0; it said: sent' });
  assert.match(describeRun(hook, event, { ...r, exitCode: undefined, signal: 'SIGKILL', timedOut: true }).detail, /was killed after 500 ms/);
});

test('a hook naming a missing user or program does not run, and says which field to fix', () => {
  const { ready, problems } = readyHooks([
    { on: ['tunnel-down'], run: ['sh', '-c', 'true'], user: 'nobody', timeout: 1000 },
    { on: ['tunnel-down'], run: ['sh'], user: 'no-such-user-ksapp', timeout: 1000 },
    { on: ['tunnel-down'], run: ['/nonexistent/alert'], user: 'nobody', timeout: 1000 },
  ]);
  assert.deepEqual(ready.map((h) => [h.label, h.argv[0]]), [['hooks[0]', '/usr/bin/sh']]);
  assert.match(problems[0]!, /^hooks\[1\]\.user: user "no-such-user-ksapp" does not exist/);
  assert.match(problems[1]!, /^hooks\[2\]\.run\[0\]: /);
});

test('hooks get the event on stdin as the named user; one that hangs is killed; a flood is dropped; none runs in the caller\'s turn', { skip, timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-hooks-'));
  await chmod(dir, 0o777);
  const logged: Array<Omit<SupervisorEvent, 'at'>> = [];
  const waiters: Array<() => void> = [];
  const { ready, problems } = readyHooks([
    { on: ['app-frozen'], run: ['sh', '-c', `id -u > ${dir}/uid; cat > ${dir}/stdin; echo "$KSAPP_EVENT_TYPE $KSAPP_EVENT_APP"`], user: 'nobody', timeout: 5000 },
    { on: ['app-frozen'], run: ['sleep', '1000'], user: 'nobody', timeout: 300 },
  ]);
  assert.deepEqual(problems, []);
  const runner = new HookRunner(ready, (e) => { logged.push(e); for (const w of waiters.splice(0)) w(); });
  // The flood below leaves hooks running: they are ended (and gone) before their directory goes.
  t.after(async () => {
    await runner.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const until = async (ok: () => boolean): Promise<void> => { while (!ok()) await new Promise<void>((r) => waiters.push(r)); };
  const t0 = process.hrtime.bigint();
  runner.heard(event);
  const turnMs = Number(process.hrtime.bigint() - t0) / 1e6;
  t.diagnostic(`heard() returned in ${turnMs.toFixed(3)} ms with a hook that sleeps for ever queued`);
  assert.equal(logged.length, 0, 'nothing started in the caller\'s turn');
  await until(() => logged.length >= 2);
  assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'stdin'), 'utf8')), event);
  assert.equal((await readFile(path.join(dir, 'uid'), 'utf8')).trim(), '65534');
  assert.ok(logged.some((e) => /hooks\[0\] .* exited 0; it said: app-frozen qb/.test(e.detail ?? '')), JSON.stringify(logged));
  assert.ok(logged.some((e) => /failed: hooks\[1\] \(\S*sleep 1000\) for app-frozen of qb was killed after 300 ms/.test(e.detail ?? '')), JSON.stringify(logged));
  // A flood: far more runs than the queue holds; the drop is said once, and the runner keeps working.
  for (let i = 0; i < 100; i++) runner.heard(event);
  assert.ok(logged.some((e) => /are dropped until the queue drains/.test(e.detail ?? '')));
});
