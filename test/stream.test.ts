import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { StatusStream } from '../src/daemon/stream.js';
import type { EventRecord, Status, StreamMessage } from '../src/ipc/protocol.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const event = (n: number): EventRecord => ({ at: new Date(n).toISOString(), type: 'app-frozen', app: `a${n}` });

test('status stream: events-only subscribers cost no status; status subscribers get one per second and one per burst', async (t) => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  t.after(() => mock.timers.reset());
  let built = 0;
  const stream = new StatusStream(async () => { built++; return { built } as unknown as Status; }, () => undefined);

  const runClient: StreamMessage[] = [];
  const leaveRun = stream.subscribe((m) => runClient.push(m), { status: false });
  mock.timers.tick(5000);
  stream.event(event(1));
  mock.timers.tick(1000);
  await flush();
  assert.equal(built, 0, 'no status is built while only events-only subscribers listen');
  assert.deepEqual(runClient.map((m) => m.type), ['event']);

  const dashboard: StreamMessage[] = [];
  const leaveDashboard = stream.subscribe((m) => dashboard.push(m));
  await flush();
  assert.equal(built, 1, 'a status subscriber gets a status at once');
  for (let i = 0; i < 100; i++) stream.event(event(i));
  mock.timers.tick(30);
  await flush();
  assert.equal(built, 2, 'a burst of 100 events is followed by one status');
  mock.timers.tick(1000);
  await flush();
  assert.equal(built, 3, 'and one every second');
  assert.equal(dashboard.filter((m) => m.type === 'status').length, 3);
  assert.equal(runClient.filter((m) => m.type === 'status').length, 0, 'the events-only subscriber never gets a status');
  assert.equal(runClient.filter((m) => m.type === 'event').length, 101);

  leaveDashboard();
  mock.timers.tick(5000);
  await flush();
  assert.equal(built, 3, 'the timer stops with the last status subscriber');
  leaveRun();
});
