// End-to-end: one daemon, two VPN servers. Apps on different tunnels leave by their own tunnel only;
// a server's death freezes only its apps; an app with a failover order moves to the second server and
// back, with no packet from the client's own address and none through the wrong tunnel; a tunnel that
// runs inside another (multi-hop) is down whenever its outer hop is. Positive control: an unprotected
// sender keeps getting through from the client's address all along.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, fixturePath, TUNNEL2_FAULTS, type Lab } from '../src/lab/index.js';
import { writeLabConfig } from '../src/demo/lab-config.js';
import { ksappIn, removeTestGroups } from './helpers/ksapp.js';
import { appIn, seenIn, statusIn, tagIn } from './helpers/lab-view.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
let lab: Lab;
let daemon: ReturnType<typeof ksappIn> | undefined;
const children: Array<{ kill(signal?: NodeJS.Signals): unknown }> = [];
const server2Killed = TUNNEL2_FAULTS.find((f) => f.id === 'server2-killed')!;

const configFor = (via: boolean): Promise<string> => writeLabConfig(lab, via ? 'tunnels-via' : 'tunnels', {
  cgroupParent: `ksapp-t-${lab.suffix}`, probe: true,
  extra: [
    'tunnels:',
    `  - interface: ${lab.tunnel2!.clientIface}`,
    `    probe: { address: ${lab.tunnel2!.server4}, interval: 300ms, failures: 3 }`,
    `    dns: [${lab.tunnel2!.server4}]`,
    ...(via ? [`    via: ${lab.tunnel.clientIface}`] : []),
  ],
});

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only', tunnels: 2 });
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon;
  if (lab) await removeTestGroups(lab);
  await lab?.destroy();
});

const status = (): Promise<Status> => statusIn(lab);
const app = (name: string) => appIn(lab, name);
const startDaemon = async (config: string): Promise<void> => {
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await status().catch(() => undefined)) !== undefined, 10_000, 50), 'daemon answers');
};
const stopDaemon = async (): Promise<void> => {
  daemon?.kill('SIGTERM');
  await daemon;
  daemon = undefined;
};
const tag = (name: string): string => tagIn(lab, name);
const runs = new Map<string, ReturnType<typeof ksappIn>>();
const sender = (name: string, extra: string[] = []): void => {
  const child = ksappIn(lab, ['run', '--name', name, ...extra, '--',
    process.execPath, fixturePath('sender.mjs'), '--tag', tag(name), '--to', lab.addr.internet4, '--interval', '30']);
  children.push(child);
  runs.set(name, child);
  child.stderr?.on('data', (d: Buffer) => { said.set(name, `${said.get(name) ?? ''}${d.toString()}`.slice(-2000)); });
};
const said = new Map<string, string>();
/** What went wrong, for a failed assertion: the apps and the `ksapp run` clients' own words. */
const why = async (): Promise<string> => JSON.stringify({
  tunnels: (await status().catch(() => undefined))?.tunnels?.map((t) => [t.interface, t.state, t.reason]),
  events: (await status().catch(() => undefined))?.events.slice(-12).map((e) => `${e.type} ${e.tunnel ?? ''} ${e.app ?? ''} ${e.detail ?? ''}`),
  apps: (await status().catch(() => undefined))?.apps.map((a) => [a.name, a.state, a.tunnel, a.pids, a.packets]),
  seen: await Promise.all(['one', 'two', 'both'].map(async (n) => [n, await seen(n)])),
  last: (await lab.received()).slice(-3),
  kernel: await Promise.all([
    ['ip', 'rule'], ['ip', 'route', 'show', 'table', '27508'], ['nft', 'list', 'chain', 'inet', 'ksapp', 'egress_protected'],
    ['nft', 'list', 'chain', 'inet', 'ksapp', 'hop_guard'], ['wg', 'show', lab.tunnel2!.clientIface, 'dump'], ['ip', 'route', 'get', lab.addr.vpnPublic4b!],
  ].map((argv) => lab.exec('client', argv).catch((e: Error) => e.message))),
  frozen: await Promise.all((await status().catch(() => undefined))?.apps.map((a) => lab.exec('client', ['cat', `${a.cgroup}/cgroup.events`]).catch((e: Error) => e.message)) ?? []),
  runs: [...runs].map(([n, c]) => [n, c.exitCode, said.get(n) ?? '']),
});
const seen = (name: string, from = 0) => seenIn(lab, name, from);
const through = (name: string, which: 'viaTunnel' | 'viaTunnel2', from = 0) =>
  waitUntil(async () => (await seen(name, from))[which] > 0, 10_000, 100);

test('apps on two tunnels leave by their own only; a server death freezes only its apps; failover and failback', { skip, timeout: 120_000 }, async () => {
  await startDaemon(await configFor(false));
  sender('one');
  sender('two', ['--tunnel', lab.tunnel2!.clientIface]);
  sender('both', ['--tunnel', `${lab.tunnel.clientIface},${lab.tunnel2!.clientIface}`]);
  // The positive control: unprotected, straight from the client's address.
  const [enter, ...enterArgs] = lab.nsenterArgs('client');
  const free = spawn(enter!, [...enterArgs, process.execPath, fixturePath('sender.mjs'), '--tag', tag('free'), '--to', lab.addr.internet4, '--interval', '50'], { stdio: 'ignore' });
  children.push(free);
  assert.ok(await through('one', 'viaTunnel'), `one rides the primary: ${await why()}`);
  assert.ok(await through('two', 'viaTunnel2'), `two rides the second tunnel: ${await why()}`);
  assert.ok(await through('both', 'viaTunnel'), `both starts on the first of its list: ${await why()}`);
  const s = await status();
  assert.deepEqual(s.tunnels?.map((t) => [t.interface, t.state, [...t.apps].sort()]), [
    [lab.tunnel.clientIface, 'up', ['both', 'one']], [lab.tunnel2!.clientIface, 'up', ['two']],
  ]);
  assert.equal((await seen('one')).viaTunnel2, 0, 'one never through the second tunnel');
  assert.equal((await seen('two')).viaTunnel, 0, 'two never through the first tunnel');

  // The second server dies silently: only `two` is frozen (its probe notices).
  const t1 = Date.now();
  await server2Killed.inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await app('two'))?.state === 'frozen', 10_000, 100), 'two frozen');
    assert.equal((await app('one'))?.state, 'running');
    assert.equal((await app('both'))?.state, 'running');
    assert.ok(await through('one', 'viaTunnel', Date.now()), `one keeps going through the first tunnel: ${await why()}`);
  } finally {
    await server2Killed.repair(lab);
  }
  assert.ok(await waitUntil(async () => (await app('two'))?.state === 'running', 20_000, 100), 'two thawed when its server is back');
  assert.ok(await through('two', 'viaTunnel2', Date.now()), await why());

  // The primary is deleted: `one` is frozen, `both` moves to the second tunnel and keeps working.
  const t2 = Date.now();
  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await app('both'))?.tunnel === lab.tunnel2!.clientIface && (await app('one'))?.state === 'frozen', 10_000, 100),
      JSON.stringify((await status()).apps.map((a) => [a.name, a.state, a.tunnel])));
    assert.equal((await app('both'))?.state, 'running');
    assert.ok(await through('both', 'viaTunnel2', Date.now()), `both works through the second server: ${await why()}`);
    assert.ok((await status()).events.some((e) => e.type === 'app-moved' && e.app === 'both'));
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
  // Failback: the first tunnel returns and `both` goes back to it.
  assert.ok(await waitUntil(async () => (await app('both'))?.tunnel === lab.tunnel.clientIface && (await app('one'))?.state === 'running', 20_000, 100), 'failback');
  assert.ok(await through('both', 'viaTunnel', Date.now()), await why());
  for (const name of ['one', 'two', 'both']) assert.equal((await seen(name, t1)).fromClient, 0, `${name} leaked from the client's address`);
  assert.equal((await seen('one', t2)).viaTunnel2, 0, 'one never took the second tunnel');
  assert.ok((await seen('free', t1)).fromClient > 0, 'the unprotected control got through all along');
  await stopDaemon();
});

test('multi-hop: a tunnel inside the primary is down while the primary is, and its packets to its server never leave outside it', { skip, timeout: 90_000 }, async () => {
  const endpoint = `${lab.addr.vpnPublic4b}/32`;
  // The second tunnel really runs inside the first: its packets to its server are routed into the first tunnel.
  // (Its server also answers from the first server's address, which WireGuard may have roamed to: pin the endpoint.)
  await lab.exec('client', ['ip', 'route', 'replace', endpoint, 'dev', lab.tunnel.clientIface]);
  const peer = (await lab.exec('client', ['wg', 'show', lab.tunnel2!.clientIface, 'peers'])).trim();
  await lab.exec('client', ['wg', 'set', lab.tunnel2!.clientIface, 'peer', peer, 'endpoint', `${lab.addr.vpnPublic4b}:51822`]);
  await startDaemon(await configFor(true));
  assert.ok(await waitUntil(async () => (await app('two'))?.state === 'running' && (await status()).tunnels?.every((t) => t.state === 'up') === true, 20_000, 100), await why());
  assert.ok(await through('two', 'viaTunnel2', Date.now()), `nested: ${await why()}`);
  assert.deepEqual((await status()).tunnels?.find((t) => t.interface === lab.tunnel2!.clientIface)?.via, lab.tunnel.clientIface);
  const t0 = Date.now();
  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await app('two'))?.state === 'frozen', 10_000, 100), `the inner tunnel's app is frozen with its outer hop: ${await why()}`);
    assert.match((await status()).events.filter((e) => e.type === 'app-frozen' && e.app === 'two').at(-1)?.detail ?? '', /runs inside tunnel/);
  } finally {
    await faultById('tunnel-deleted').repair(lab);
    await lab.exec('client', ['ip', 'route', 'replace', endpoint, 'dev', lab.tunnel.clientIface]);
  }
  assert.ok(await waitUntil(async () => (await app('two'))?.state === 'running', 20_000, 100), `thawed with its outer hop: ${await why()}`);
  // The route into the outer tunnel goes: the inner tunnel's packets would now take the physical interface. They are dropped.
  const hops = async (): Promise<number> => Number(/packets (\d+)/.exec(await lab.exec('client', ['nft', 'list', 'counter', 'inet', 'ksapp', 'hop_drop']))?.[1] ?? 0);
  const before = await hops();
  await lab.exec('client', ['ip', 'route', 'del', endpoint]);
  try {
    assert.ok(await waitUntil(async () => (await hops()) > before, 15_000, 100), `the hop guard drops them: ${await why()}`);
    assert.ok(await waitUntil(async () => (await app('two'))?.state === 'frozen', 15_000, 100), `and the inner tunnel is down: ${await why()}`);
  } finally {
    await lab.exec('client', ['ip', 'route', 'replace', endpoint, 'dev', lab.tunnel.clientIface]);
  }
  assert.equal((await seen('two', t0)).fromClient, 0);
  await stopDaemon();
  await lab.exec('client', ['ip', 'route', 'del', endpoint]).catch(() => undefined);
});

test('a reconnect command that brings the tunnel back thaws the apps; the kill switch holds meanwhile', { skip, timeout: 60_000 }, async () => {
  const iface = lab.tunnel.clientIface;
  const config = path.join(lab.dir, 'reconnect.yaml');
  await writeFile(config, [
    'tunnel:', `  interface: ${iface}`,
    `  reconnect: { command: [ip, link, set, ${iface}, up], every: 500ms, timeout: 5s }`,
    `dns: { servers: [${lab.tunnel.server4}] }`, `cgroupParent: ksapp-t-${lab.suffix}`, '',
  ].join('\n'));
  await startDaemon(config);
  assert.ok(await waitUntil(async () => (await app('one'))?.state === 'running' && (await status()).tunnel.state === 'up', 20_000, 100), await why());
  const t0 = Date.now();
  // Set down and never repaired by the test: only the daemon's reconnect command brings it back.
  await lab.exec('client', ['ip', 'link', 'set', iface, 'down']);
  assert.ok(await waitUntil(async () => (await status()).events.some((e) => e.type === 'tunnel-reconnect' && Date.parse(e.at) >= t0), 10_000, 100), await why());
  assert.ok(await waitUntil(async () => (await app('one'))?.state === 'running' && (await status()).tunnel.state === 'up', 20_000, 100), `thawed: ${await why()}`);
  const events = (await status()).events.filter((e) => Date.parse(e.at) >= t0).map((e) => e.type);
  assert.ok(events.indexOf('app-frozen') < events.indexOf('tunnel-reconnect') && events.indexOf('tunnel-reconnect') < events.lastIndexOf('app-thawed'), events.join(' '));
  assert.match((await status()).events.find((e) => e.type === 'tunnel-reconnect')?.detail ?? '', new RegExp(`attempt 1: ip link set ${iface} up exited 0`));
  assert.equal((await seen('one', t0)).fromClient, 0);
  await stopDaemon();
});

test('hooks: one receives the tunnel-down event as JSON, one that sleeps for ever does not delay the freeze', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-hook-e2e-'));
  await chmod(dir, 0o777);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const iface = lab.tunnel.clientIface;
  const config = path.join(lab.dir, 'hooks.yaml');
  await writeFile(config, [
    'tunnel:', `  interface: ${iface}`, `  probe: { address: ${lab.tunnel.server4}, interval: 300ms, failures: 3 }`,
    `dns: { servers: [${lab.tunnel.server4}] }`, `cgroupParent: ksapp-t-${lab.suffix}`,
    'hooks:',
    '  - { on: [tunnel-down, app-frozen], run: [sleep, "1000"], user: nobody, timeout: 60s }',
    `  - { on: [tunnel-down], run: [sh, -c, 'cat > ${dir}/down.json'], user: nobody }`, '',
  ].join('\n'));
  await startDaemon(config);
  // Only `one` is left, so the reaction is its freeze alone (a move of `both` would be in it too).
  for (const name of ['two', 'both']) await ksappIn(lab, ['release', name]);
  assert.ok(await waitUntil(async () => (await app('one'))?.state === 'running' && (await status()).tunnel.state === 'up', 20_000, 100), await why());
  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await app('one'))?.state === 'frozen', 10_000, 50), await why());
    const down = (await status()).events.filter((e) => e.type === 'tunnel-down').at(-1);
    t.diagnostic(`reaction with a hook that sleeps for ever on tunnel-down and app-frozen: ${down?.reactionMs?.toFixed(2)} ms`);
    assert.ok(await waitUntil(async () => (await readFile(path.join(dir, 'down.json'), 'utf8').catch(() => '')).includes('}'), 5000, 50), 'the hook got the event');
    const got = JSON.parse(await readFile(path.join(dir, 'down.json'), 'utf8')) as { type: string; tunnel: string };
    assert.deepEqual([got.type, got.tunnel], ['tunnel-down', iface]);
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
  assert.ok(await waitUntil(async () => (await app('one'))?.state === 'running', 20_000, 100), `thawed: ${await why()}`);
  await stopDaemon();
});
