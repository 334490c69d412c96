// The link source against the real kernel: a tun device in a namespace this test creates,
// the monitor running inside it (through nsenter, so it watches that namespace only).
// socat holds the tun open so it has a carrier, as an OpenVPN client would.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { runTool } from '../src/tools.js';
import { startMonitorChild, type MonitorChild } from './helpers/monitor-child.js';

const hasSocat = ['/usr/bin/socat', '/bin/socat', '/usr/local/bin/socat'].some((f) => existsSync(f));
const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync('/dev/net/tun') ? 'no /dev/net/tun' : !hasSocat ? 'needs socat (apt-get install socat)' : false;
const SFX = randomBytes(3).toString('hex');
const NS = `ksm-${SFX}`;
const TUN = `kt${SFX}`;
const ADDR = '10.77.0.2/24';
const ip = (...args: string[]) => runTool('ip', ['-n', NS, ...args]);
let holder: ResultPromise | undefined;
let mon: MonitorChild | undefined;
const latencies: Record<string, number[]> = {};

// A long-running `ip -batch -`: writing one line to it changes the kernel within
// microseconds, so fault → transition can be timed without a process spawn in between.
let batch: ResultPromise | undefined;
const fast = async (line: string): Promise<void> => {
  batch?.stdin?.write(`${line}\n`);
};

async function attachHolder(): Promise<void> {
  // socat attaches to the persistent tun and keeps it open: carrier up, state UP.
  holder = execa('nsenter', [`--net=/run/netns/${NS}`, 'socat', '-u', `TUN:${ADDR},tun-name=${TUN},tun-type=tun,iff-up,iff-no-pi`, '/dev/null'], { reject: false, stdin: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if ((await ip('-o', 'link', 'show', 'dev', TUN).catch(() => '')).includes('LOWER_UP')) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${TUN} never got a carrier`);
}

async function createTun(): Promise<void> {
  await ip('tuntap', 'add', 'dev', TUN, 'mode', 'tun');
  await ip('addr', 'add', ADDR, 'dev', TUN);
  await ip('link', 'set', TUN, 'up');
  await attachHolder();
}

async function stopHolder(): Promise<void> {
  holder?.kill('SIGTERM'); // socat may have ended already: it exits when its tun is deleted
  await holder;
  holder = undefined;
}

/** Runs a fault, waits for the transition it must cause, and records how long detection took. */
async function expectTransition(name: string, fault: () => Promise<unknown>, state: 'up' | 'down', reason: RegExp | string) {
  assert.ok(mon);
  const start = process.hrtime.bigint();
  const seen = mon.next('transition');
  await fault();
  const t = await seen;
  assert.equal(t.state, state, `${name}: ${JSON.stringify(t)}`);
  if (typeof reason === 'string') assert.equal(t.reason, reason);
  else assert.match(String(t.reason), reason);
  // From the fault's start (a line to ip -batch, or an ip spawn) to the transition leaving the monitor.
  (latencies[name] ??= []).push(Number(BigInt(String(t.emittedAt)) - start) / 1e6);
  // The monitor's own part: from reading the netlink line to emitting the transition.
  (latencies[`${name} (inside the monitor)`] ??= []).push(Number(BigInt(String(t.emittedAt)) - BigInt(String(t.detectedAt))) / 1e6);
  return t;
}

before(async () => {
  if (skip) return;
  await runTool('ip', ['netns', 'add', NS]);
  await ip('link', 'set', 'lo', 'up');
  await runTool('nsenter', [`--net=/run/netns/${NS}`, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  await createTun();
  batch = execa('ip', ['-n', NS, '-force', '-batch', '-'], { reject: false, stdin: 'pipe', stdout: 'ignore', stderr: 'ignore' });
  mon = await startMonitorChild(NS, { iface: TUN, handshakeTimeoutMs: 180_000, holdMs: 50, maxHoldMs: 400, stableMs: 1_000, linkSource: 'ip-monitor' });
  const up = await mon.next('transition');
  assert.equal(up.state, 'up');
});

after(async () => {
  await mon?.close();
  batch?.stdin?.end();
  await batch;
  await stopHolder().catch(() => undefined);
  if (!skip) await runTool('ip', ['netns', 'del', NS]).catch(() => undefined);
  for (const [name, values] of Object.entries(latencies)) {
    const sorted = [...values].sort((a, b) => a - b);
    console.log(`# latency ${name}: n=${sorted.length} median=${sorted[Math.floor(sorted.length / 2)]?.toFixed(2)} ms max=${sorted.at(-1)?.toFixed(2)} ms`);
  }
});

test('starts up on a tun with a carrier and an address; snapshot says why', { skip }, async () => {
  assert.ok(mon);
  const snap = await mon.snapshot();
  assert.deepEqual([snap.state, snap.kind, snap.reason, snap.handshakeAgeMs, snap.probeRttMs], ['up', 'tun', 'all sources healthy', null, null]);
  assert.deepEqual(Object.keys(snap.sources), ['link'], 'no handshake source on a plain tun');
});

test('set down → down at once; set up → up', { skip }, async () => {
  for (let i = 0; i < 10; i++) {
    await expectTransition('set down', () => fast(`link set ${TUN} down`), 'down', `${TUN} set down`);
    await expectTransition('set up', () => ip('link', 'set', TUN, 'up'), 'up', 'all sources healthy');
  }
});

test('carrier lost (the tunnel process exits) → down; carrier back → up', { skip }, async () => {
  await expectTransition('carrier lost', stopHolder, 'down', `${TUN} has no carrier`);
  await expectTransition('carrier back', attachHolder, 'up', 'all sources healthy');
});

test('address removed → down; restored → up', { skip }, async () => {
  await expectTransition('address removed', () => ip('addr', 'del', ADDR, 'dev', TUN), 'down', `${TUN} lost all its addresses`);
  await expectTransition('address back', () => ip('addr', 'add', ADDR, 'dev', TUN), 'up', 'all sources healthy');
});

test('renamed away → down; renamed back → up (followed by ifindex, not name)', { skip }, async () => {
  const other = `kx${SFX}`;
  await expectTransition('renamed away', async () => {
    // Linux 6.x renames an up tun in place; older kernels want it down first (EBUSY).
    await ip('link', 'set', TUN, 'name', other).catch(async () => {
      await ip('link', 'set', TUN, 'down');
      await ip('link', 'set', TUN, 'name', other);
    });
  }, 'down', new RegExp(`^${TUN} (renamed to ${other}|set down)$`));
  assert.ok(mon);
  for (let i = 0; (await mon.snapshot()).sources.link?.reason !== `${TUN} renamed to ${other}`; i++) {
    assert.ok(i < 100, 'the rename shows as the reason');
    await new Promise((r) => setTimeout(r, 10));
  }
  await expectTransition('renamed back', async () => {
    await ip('link', 'set', other, 'name', TUN);
    await ip('link', 'set', TUN, 'up');
  }, 'up', 'all sources healthy');
});

test('deleted → down; re-created (new ifindex) → up after a fresh snapshot', { skip }, async () => {
  for (let i = 0; i < 10; i++) {
    // The kernel closes the device (a "down" event) ~0.1 ms before deleting it: the
    // transition may carry either reason, and a `reason` event refines it to "deleted".
    await expectTransition('link delete', () => fast(`link del ${TUN}`), 'down', new RegExp(`^${TUN} (deleted|set down)$`));
    assert.ok(mon);
    while ((await mon.snapshot()).reason !== `${TUN} deleted`) await new Promise((r) => setTimeout(r, 5));
    await stopHolder();
    await expectTransition('re-created', createTun, 'up', 'all sources healthy');
  }
});

test('the ip monitor process dies → down "link monitor exited", restarted → up', { skip }, async () => {
  assert.ok(mon);
  const pid = (await mon.snapshot()).ipPid as number;
  assert.ok(pid > 0);
  await expectTransition('monitor killed', async () => process.kill(pid, 'SIGKILL'), 'down', 'link monitor exited');
  const t = await mon.next('transition');
  assert.equal(t.state, 'up');
  const newPid = (await mon.snapshot()).ipPid as number;
  assert.ok(newPid > 0 && newPid !== pid, 'a new ip monitor runs');
});

test('bad input: not a tunnel, probe outside the subnet, detect with no candidate; a missing interface is waited for', { skip }, async () => {
  await ip('link', 'add', `kv${SFX}`, 'type', 'veth', 'peer', 'name', `kw${SFX}`);
  const run = async (opts: object) => (await startMonitorChild(NS, opts)).startError;
  const notTunnel = await run({ iface: `kv${SFX}`, handshakeTimeoutMs: 180_000 });
  assert.equal(notTunnel?.code, 'MONITOR_NOT_TUNNEL');
  assert.match(String(notTunnel?.message), /is not a tunnel \(its kind is veth\)/);
  assert.equal(notTunnel?.exitCode, 2);
  // A missing interface is waited for (at boot the VPN connects after ksapp starts): down, saying why.
  const missing = await startMonitorChild(NS, { iface: 'nosuch0', handshakeTimeoutMs: 180_000 });
  try {
    assert.equal(missing.startError, undefined);
    const waiting = await missing.snapshot();
    assert.equal(waiting.state, 'down');
    assert.match(waiting.reason, /nosuch0 does not exist yet/);
  } finally {
    await missing.close();
  }
  const outside = await run({ iface: TUN, handshakeTimeoutMs: 180_000, probe: { address: '10.78.0.1', intervalMs: 500, failures: 3 } });
  assert.equal(outside?.code, 'MONITOR_PROBE_OUTSIDE');
  assert.match(String(outside?.message), /10\.78\.0\.1 is outside the tunnel's subnets \(10\.77\.0\.2\/24\)/);
  const extra = await startMonitorChild(NS, { iface: TUN, handshakeTimeoutMs: 180_000, tunnelCidrs: ['10.78.0.0/24'], probe: { address: '10.78.0.1', intervalMs: 500, failures: 3 } });
  assert.equal(extra.startError, undefined, 'tunnelCidrs widen the accepted prefixes');
  await extra.close();
  const detect = await run({ detect: true });
  assert.equal(detect?.code, 'MONITOR_NO_TUNNEL');
  assert.match(String(detect?.message), new RegExp(`lo, ${TUN}, kv${SFX}@?|lo, ${TUN}`));
});

test('stop() ends the ip monitor process', { skip }, async () => {
  assert.ok(mon);
  const pid = (await mon.snapshot()).ipPid as number;
  await mon.close();
  mon = undefined;
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
});
