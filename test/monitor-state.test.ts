// The monitor's state machine on literal sequences of health reports (times in ms).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MonitorError, TunnelStateMachine, validateOptions, type HealthInput, type Transition } from '../src/monitor/index.js';

const ok = (source: string, at: number): HealthInput => ({ source, healthy: true, reason: `${source} fine`, at });
const bad = (source: string, at: number, reason = `${source} broken`): HealthInput => ({ source, healthy: false, reason, at });

/** Feeds reports in order, ticking at every deadline that falls before the next report, until `until`. */
function run(m: TunnelStateMachine, inputs: HealthInput[], until: number): Transition[] {
  const out: Transition[] = [];
  const drain = (now: number) => {
    for (let due = m.nextDeadline(); due !== null && due <= now; due = m.nextDeadline()) out.push(...m.tick(due));
  };
  for (const input of inputs) {
    drain(input.at);
    out.push(...m.update(input));
  }
  drain(until);
  return out;
}

test('starts down and goes up at once when every source is healthy for the first time', () => {
  const m = new TunnelStateMachine(['link', 'handshake', 'probe'], 0);
  assert.deepEqual([m.state, m.reason], ['down', { source: 'link', reason: 'waiting for link' }]);
  const t = run(m, [ok('link', 5), ok('handshake', 8)], 100);
  assert.deepEqual(t, [], 'the probe has not answered yet');
  assert.deepEqual(m.reason, { source: 'probe', reason: 'waiting for probe' });
  assert.deepEqual(m.update(ok('probe', 120)), [{ state: 'up', reason: 'all sources healthy', at: 120, source: 'probe' }]);
});

test('a hard signal is down at once with its reason; up again after the base hold', () => {
  const m = new TunnelStateMachine(['link', 'probe'], 0, { holdMs: 250 });
  // Up for 20 s (longer than stableMs), so this down is not a flap: the hold is the base.
  const t = run(m, [ok('link', 0), ok('probe', 10), bad('link', 20_000, 'wg0 deleted'), ok('link', 21_000)], 30_000);
  assert.deepEqual(t, [
    { state: 'up', reason: 'all sources healthy', at: 10, source: 'probe' },
    { state: 'down', reason: 'wg0 deleted', at: 20_000, source: 'link' },
    { state: 'up', reason: 'all sources healthy', at: 21_250, source: 'link' },
  ]);
});

test('up needs every source: a second failure keeps it down, and its reason shows', () => {
  const m = new TunnelStateMachine(['link', 'probe'], 0);
  const t = run(m, [ok('link', 0), ok('probe', 0), bad('link', 20_000, 'wg0 set down'), bad('probe', 20_100, '3 probes unanswered'), ok('link', 20_200)], 30_000);
  assert.deepEqual(t.map((x) => x.state), ['up', 'down']);
  assert.equal(m.state, 'down');
  assert.deepEqual(m.reason, { source: 'probe', reason: '3 probes unanswered' });
  assert.deepEqual(m.update(ok('probe', 30_000)), []);
  assert.deepEqual(m.reason, { source: 'probe', reason: 'holding down for 250 ms before up' });
  assert.deepEqual(m.tick(30_249), []);
  assert.deepEqual(m.tick(30_250), [{ state: 'up', reason: 'all sources healthy', at: 30_250, source: 'probe' }]);
});

test('up requires continuous health for the hold: a blip during the hold restarts it', () => {
  const m = new TunnelStateMachine(['link'], 0, { holdMs: 250 });
  const t = run(m, [ok('link', 0), bad('link', 20_000), ok('link', 20_100), bad('link', 20_200), ok('link', 20_300)], 30_000);
  assert.deepEqual(t.map((x) => [x.state, x.at]), [['up', 0], ['down', 20_000], ['up', 20_550]]);
});

test('ten flaps in two seconds: two transitions, not twenty', () => {
  const m = new TunnelStateMachine(['link'], 0, { holdMs: 250 });
  const inputs: HealthInput[] = [ok('link', 0)];
  for (let i = 0; i < 10; i++) inputs.push(bad('link', 10_000 + i * 200, 'wg0 set down'), ok('link', 10_100 + i * 200));
  const t = run(m, inputs, 20_000);
  assert.deepEqual(t.map((x) => [x.state, x.at]), [['up', 0], ['down', 10_000], ['up', 12_150]]);
});

test('slower flaps: the hold doubles on each flap, is capped, and resets after a stable up', () => {
  const m = new TunnelStateMachine(['link'], 0, { holdMs: 250, maxHoldMs: 1_000, stableMs: 10_000 });
  const inputs: HealthInput[] = [ok('link', 0)];
  // Down for 100 ms every 3 s: each up lasts less than stableMs, so each down is a flap.
  for (let i = 1; i <= 5; i++) inputs.push(bad('link', i * 3_000), ok('link', i * 3_000 + 100));
  const t = run(m, inputs, 20_000);
  const ups = t.filter((x) => x.state === 'up').slice(1).map((x) => x.at);
  // First down after a stable 3 s? No: 3 s < stableMs, so hold is 500 ms already on the first down.
  assert.deepEqual(ups, [3_600, 7_100, 10_100, 13_100, 16_100]);
  assert.equal(m.holdMs, 1_000, 'capped');
  // After an up of stableMs or more, the next down starts over at the base hold.
  const more = run(m, [bad('link', 40_000), ok('link', 40_100)], 50_000);
  assert.deepEqual(more.map((x) => [x.state, x.at]), [['down', 40_000], ['up', 40_350]]);
});

test('reports of unknown sources are ignored', () => {
  const m = new TunnelStateMachine(['link'], 0);
  assert.deepEqual(m.update(bad('probe', 1)), []);
  assert.deepEqual(m.update(ok('link', 2)).map((x) => x.state), ['up']);
});

test('monitor options: bad values are rejected with exit code 2', () => {
  const good = { iface: 'wg0', handshakeTimeoutMs: 180_000, probe: { address: '10.66.0.1', intervalMs: 500, failures: 3 } };
  validateOptions(good);
  const cases: [object, RegExp][] = [
    [{ ...good, probe: { ...good.probe, intervalMs: 0 } }, /interval must be positive/],
    [{ ...good, probe: { ...good.probe, intervalMs: -5 } }, /interval must be positive/],
    [{ ...good, probe: { ...good.probe, failures: 0 } }, /failures must be a whole number/],
    [{ ...good, probe: { ...good.probe, failures: 1.5 } }, /failures must be a whole number/],
    [{ ...good, probe: { ...good.probe, address: '10.66.0' } }, /not an IP address/],
    [{ ...good, handshakeTimeoutMs: 0 }, /handshake timeout must be positive/],
    [{ ...good, iface: 'bad name' }, /not a valid interface name/],
    [{ ...good, iface: 'averyveryverylongname' }, /not a valid interface name/],
    [{ ...good, tunnelCidrs: ['10.0.0.0/40'] }, /not a CIDR prefix/],
    [{ ...good, holdMs: -1 }, /hold-down must not be negative/],
    [{ ...good, holdMs: 1000, maxHoldMs: 500 }, /maximum hold-down 500 ms is below the hold-down 1000 ms/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => validateOptions(options as typeof good), (e: MonitorError) =>
      e instanceof MonitorError && e.exitCode === 2 && e.code === 'MONITOR_BAD_OPTION' && message.test(e.message) && e.hint !== '');
  }
});
