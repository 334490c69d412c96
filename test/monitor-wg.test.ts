// The monitor on a real wireguard-go tunnel (the lab's four namespaces): silent death of
// the server and a blocked path (probe), the client interface going away (link), stale
// handshakes (handshake) and a flapping tunnel (hold-down), each with its recovery.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createLab, type Lab } from '../src/lab/index.js';
import { runTool } from '../src/tools.js';
import { startMonitorChild, type MonitorChild } from './helpers/monitor-child.js';


const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync('/dev/net/tun') ? 'no /dev/net/tun' : false;
const PROBE = { address: '10.66.0.1', intervalMs: 500, failures: 3 };
const HOLD = { holdMs: 100, maxHoldMs: 800, stableMs: 2_000 };
let lab: Lab | undefined;
let mon: MonitorChild | undefined;
const latencies: Record<string, number[]> = {};

/** Runs a fault, waits for the transition it must cause, and records fault start → transition emitted. */
async function expectTransition(name: string, fault: () => Promise<unknown>, state: 'up' | 'down', reason: RegExp, timeoutMs = 10_000) {
  assert.ok(mon);
  const start = process.hrtime.bigint();
  const seen = mon.next('transition', timeoutMs);
  await fault();
  const t = await seen;
  assert.equal(t.state, state, `${name}: ${JSON.stringify(t)}`);
  assert.match(String(t.reason), reason);
  (latencies[name] ??= []).push(Number(BigInt(String(t.emittedAt)) - start) / 1e6);
  return t;
}

before(async () => {
  if (skip) return;
  lab = await createLab();
  mon = await startMonitorChild(lab.ns.client, { iface: lab.tunnel.clientIface, handshakeTimeoutMs: 180_000, probe: PROBE, ...HOLD });
  assert.equal(mon.startError, undefined, JSON.stringify(mon.startError));
  assert.equal((await mon.next('transition')).state, 'up');
});

after(async () => {
  await mon?.close();
  await lab?.destroy();
  for (const [name, values] of Object.entries(latencies)) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(`# latency ${name}: n=${sorted.length} median=${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms max=${sorted.at(-1)?.toFixed(1)} ms`);
  }
});

test('a live wireguard-go tunnel: kind, three sources, handshake age and probe RTT', { skip }, async () => {
  assert.ok(mon);
  const snap = await mon.snapshot();
  assert.deepEqual([snap.state, snap.kind], ['up', 'wireguard-go']);
  assert.deepEqual(Object.keys(snap.sources), ['link', 'handshake', 'probe']);
  assert.ok(snap.handshakeAgeMs !== null && snap.handshakeAgeMs < 180_000, `handshake age ${snap.handshakeAgeMs}`);
  assert.ok(snap.probeRttMs !== null && snap.probeRttMs > 0, `probe RTT ${snap.probeRttMs}`);
});

test('server killed (silent death: the interface stays up) → down by the probe within 2 s; server back → up', { skip }, async () => {
  assert.ok(lab);
  const l = lab;
  for (let i = 0; i < 3; i++) {
    try {
      const t = await expectTransition('silent death', () => l.faults.killServer(), 'down', /^3 probes to 10\.66\.0\.1 through kc\w+ unanswered/);
      assert.equal(t.source, 'probe');
    } finally {
      await expectTransition('server back', () => l.faults.restartServer(), 'up', /^all sources healthy$/);
    }
  }
  // Measured from the SIGKILL being sent (the lab also waits for the process to be gone).
  for (const ms of latencies['silent death']!) assert.ok(ms <= 2_000, `detected in ${ms} ms`);
});

test('server port blocked on the path → down by the probe; unblocked → up', { skip }, async () => {
  assert.ok(lab);
  const l = lab;
  try {
    await expectTransition('path blocked', () => l.faults.blockServerPort(), 'down', /^3 probes to 10\.66\.0\.1/);
  } finally {
    await expectTransition('path unblocked', () => l.faults.unblockServerPort(), 'up', /^all sources healthy$/, 20_000);
  }
  assert.ok(latencies['path blocked']!.at(-1)! <= 2_000);
});

test('client interface deleted → down at once (link); restored → up', { skip }, async () => {
  assert.ok(lab && mon);
  const l = lab;
  const iface = l.tunnel.clientIface;
  await expectTransition('wg link delete', () => l.faults.deleteTunnel(), 'down', new RegExp(`^${iface} (deleted|set down)$`));
  assert.equal((await mon.snapshot()).sources.link?.reason, `${iface} deleted`);
  await expectTransition('wg restored', () => l.faults.restoreTunnel(), 'up', /^all sources healthy$/);
});

test('set down / address removed → down (link); repaired → up', { skip }, async () => {
  assert.ok(lab);
  const l = lab;
  const iface = l.tunnel.clientIface;
  await expectTransition('wg set down', () => l.faults.setTunnelDown(), 'down', new RegExp(`^${iface} set down$`));
  await expectTransition('wg set up', () => l.faults.setTunnelUp(), 'up', /^all sources healthy$/);
  await expectTransition('wg address removed', () => l.faults.removeTunnelAddress(), 'down', new RegExp(`^${iface} lost all its addresses$`));
  await expectTransition('wg address back', () => l.faults.restoreTunnelAddress(), 'up', /^all sources healthy$/);
});

test('flapping ten times in two seconds → one down, no up until it is stable, then up', { skip }, async () => {
  assert.ok(lab && mon);
  const l = lab;
  const iface = l.tunnel.clientIface;
  const ipc = (...args: string[]) => runTool('ip', ['-n', l.ns.client, ...args]);
  const first = mon.next('transition');
  for (let i = 0; i < 10; i++) {
    await ipc('link', 'set', iface, 'down');
    await new Promise((r) => setTimeout(r, 100));
    await ipc('link', 'set', iface, 'up');
    await new Promise((r) => setTimeout(r, 100));
  }
  const down = await first;
  assert.deepEqual([down.state, down.source], ['down', 'link']);
  await l.faults.setTunnelUp(); // addresses and routes back, as after a real reconnect
  const up = await mon.next('transition', 20_000);
  assert.equal(up.state, 'up');
  // Nothing else happened in between: exactly one down and one up for ten flaps.
  await new Promise((r) => setTimeout(r, 1_000));
  await assert.rejects(mon.next('transition', 10), /no transition/);
});

test('a handshake older than the limit → down (handshake source)', { skip }, async () => {
  assert.ok(lab);
  const strict = await startMonitorChild(lab.ns.client, { iface: lab.tunnel.clientIface, handshakeTimeoutMs: 1_000, handshakePollMs: 250 });
  try {
    assert.equal(strict.startError, undefined);
    // WireGuard renews handshakes only every 2 minutes: a 1 s limit is passed almost at once
    // (the monitor may start down already, then no transition happens at all).
    let snap = await strict.snapshot();
    for (let i = 0; snap.sources.handshake?.healthy !== false; i++) {
      assert.ok(i < 100, `handshake still healthy: ${JSON.stringify(snap)}`);
      await new Promise((r) => setTimeout(r, 100));
      snap = await strict.snapshot();
    }
    assert.deepEqual([snap.state, snap.source, snap.reason], ['down', 'handshake', 'latest WireGuard handshake older than 1 s']);
    assert.ok(snap.handshakeAgeMs !== null && snap.handshakeAgeMs > 1_000);
  } finally {
    await strict.close();
  }
});
