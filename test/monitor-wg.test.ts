// The monitor on a real wireguard-go tunnel (the lab's four namespaces): silent death of
// the server and a blocked path (probe), the client interface going away (link), stale
// handshakes (handshake) and a flapping tunnel (hold-down), each with its recovery.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { createLab, type Lab } from '../src/lab/index.js';
import { runTool } from '../src/tools.js';
// ---- a monitor running inside the namespace, speaking JSON lines (kept in this file:
// test helpers outside monitor-*.test.ts belong to nobody in this change) ----
const MONITOR_URL = new URL('../src/monitor/index.js', import.meta.url).href;
const CHILD = `
import { TunnelMonitor, detectTunnel } from ${JSON.stringify(MONITOR_URL)};
const out = (o) => process.stdout.write(JSON.stringify(o, (k, v) => typeof v === 'bigint' ? String(v) : v) + '\\n');
const fail = (e) => out({ type: 'error', code: e.code, message: e.message, exitCode: e.exitCode });
const opts = JSON.parse(process.argv[1]);
if (opts.detect) {
  await detectTunnel().then((iface) => out({ type: 'started', iface }), fail);
} else {
  const m = new TunnelMonitor(opts);
  m.on('transition', (t) => out({ type: 'transition', ...t, emittedAt: process.hrtime.bigint() }));
  m.on('reason', (t) => out({ type: 'reason', ...t }));
  try { await m.start(); out({ type: 'started' }); } catch (e) { fail(e); }
  const stop = async () => { await m.stop(); out({ type: 'stopped' }); process.exit(0); };
  process.stdin.on('end', stop);
  process.stdin.on('data', (d) => {
    for (const cmd of String(d).split('\\n')) {
      if (cmd === 'snapshot') out({ type: 'snapshot', ...m.snapshot(), ipPid: m.linkMonitorPid });
      if (cmd === 'stop') void stop();
    }
  });
}
`;

type Msg = Record<string, unknown> & { type: string };

/** A TunnelMonitor running in a namespace; messages queued by type. */
class MonitorChild {
  startError: { code?: string; message?: string; exitCode?: number } | undefined;
  private readonly queues = new Map<string, Msg[]>();
  private readonly waiters = new Map<string, ((m: Msg) => void)[]>();

  constructor(readonly proc: ResultPromise) {
    let rest = '';
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.push(JSON.parse(line) as Msg);
    });
    void proc.then((r) => {
      this.exited = true;
      for (const waiters of this.waiters.values()) for (const w of waiters.splice(0)) w({ type: 'exit', exitCode: r.exitCode });
    });
  }

  private exited = false;

  private push(m: Msg): void {
    const w = this.waiters.get(m.type)?.shift();
    if (w) w(m);
    else this.queues.set(m.type, [...(this.queues.get(m.type) ?? []), m]);
  }

  /** The next message of this type (queued or future); rejects after timeoutMs. */
  next(type: string, timeoutMs = 10_000): Promise<Msg> {
    const queued = this.queues.get(type)?.shift();
    if (queued) return Promise.resolve(queued);
    if (this.exited) return Promise.reject(new Error(`the monitor process exited before a ${type} message`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} message within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(type, [...(this.waiters.get(type) ?? []), (m) => {
        clearTimeout(timer);
        if (m.type === 'exit') reject(new Error(`the monitor process exited (status ${String(m.exitCode)}) before a ${type} message`));
        else resolve(m);
      }]);
    });
  }

  /** The monitor's snapshot() plus the pid of its ip monitor. */
  async snapshot(): Promise<Msg & { state: string; reason: string; kind: string; ipPid: number; sources: Record<string, { healthy: boolean; reason: string } | null>; handshakeAgeMs: number | null; probeRttMs: number | null }> {
    this.proc.stdin?.write('snapshot\n');
    return (await this.next('snapshot')) as never;
  }

  /** Stops the monitor (stop()), then makes sure the process is gone. */
  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.pid !== undefined) {
      this.proc.stdin?.end();
      const timer = setTimeout(() => { if (this.proc.pid !== undefined) process.kill(this.proc.pid, 'SIGKILL'); }, 5_000);
      await this.proc;
      clearTimeout(timer);
    }
  }
}

/** Starts a monitor in namespace `ns` with these options; resolves once started (or failed to). */
async function startMonitorChild(ns: string, opts: object): Promise<MonitorChild> {
  const proc = execa('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '--input-type=module', '-e', CHILD, JSON.stringify(opts)], {
    reject: false, stdin: 'pipe', stderr: 'inherit', buffer: false,
  });
  const child = new MonitorChild(proc);
  const first = await Promise.race([child.next('started', 15_000), child.next('error', 15_000)]).catch((e: unknown) => {
    throw new Error(`the monitor child did not start: ${String(e)}`);
  });
  if (first.type === 'error') {
    child.startError = first as MonitorChild['startError'];
    await child.close();
  }
  return child;
}


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
