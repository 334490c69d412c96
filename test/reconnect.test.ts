// The reconnect loop against real tiny commands: it runs once the tunnel has been down for `every`,
// logs what the command said, kills one that hangs, backs off, and stops when the tunnel is up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, describeAttempt, Reconnector } from '../src/daemon/reconnect.js';
import type { SupervisorEvent } from '../src/supervisor/index.js';

const event = (type: 'tunnel-down' | 'tunnel-up', tunnel = 'wg0'): SupervisorEvent => ({ at: Date.now(), type, tunnel });

/** Feeds events, collecting what the reconnector logs; resolves once `until` holds. */
function harness(command: string[], every = 30, timeout = 2000) {
  const logged: string[] = [];
  const waiters: Array<() => void> = [];
  const r = new Reconnector(new Map([['wg0', { command, every, timeout }]]), (e) => {
    logged.push(e.detail ?? '');
    for (const w of waiters.splice(0)) w();
  });
  const next = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  return { r, logged, next };
}

test('backoff doubles from `every` and is capped', () => {
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(10_000, n)), [10_000, 20_000, 40_000, 80_000]);
  assert.equal(backoffMs(10_000, 20), 300_000);
});

test('an attempt is described with its status and the tail of what it said', () => {
  const r = { exitCode: 3, signal: undefined, stdout: 'peer\n', stderr: 'no route\n', error: undefined, timedOut: false };
  assert.equal(describeAttempt(['wg-quick', 'up', 'wg0'], 2, r, 1000), 'attempt 2: wg-quick up wg0 exited 3; it said: peer no route');
  assert.match(describeAttempt(['x'], 1, { ...r, timedOut: true, exitCode: undefined, signal: 'SIGKILL' }, 500), /was killed after 500 ms/);
});

test('runs the command while the tunnel is down, not on other tunnels, and stops when it is up', async () => {
  const { r, logged, next } = harness(['sh', '-c', 'echo trying; exit 3']);
  r.heard(event('tunnel-down', 'wg9'));
  r.heard(event('tunnel-down'));
  await next();
  assert.match(logged[0]!, /^attempt 1: sh -c echo trying; exit 3 exited 3; it said: trying; next in 0 s/);
  await next();
  assert.match(logged[1]!, /^attempt 2:/);
  r.heard(event('tunnel-up'));
  const count = logged.length;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(logged.length, count, 'no attempt after the tunnel is up');
  r.stop();
});

test('a command that hangs is killed after its timeout; one that cannot start says so', async () => {
  const hang = harness(['sleep', '30'], 10, 150);
  hang.r.heard(event('tunnel-down'));
  await hang.next();
  assert.match(hang.logged[0]!, /sleep 30 was killed after 150 ms/);
  hang.r.stop();
  const missing = harness(['/nonexistent/ksapp-reconnect'], 10);
  missing.r.heard(event('tunnel-down'));
  await missing.next();
  assert.match(missing.logged[0]!, /could not be started \(.*ENOENT/);
  missing.r.stop();
});
