// End-to-end with the VPN client people use: wg-quick (in the lab's client namespace, userspace
// wireguard-go), full tunnel (its own fwmark, suppress_prefixlength rules and nft table) and
// `Table = off`; `wg-quick down` / `up` cycles that recreate the interface under its name; ksapp
// started after and before `wg-quick up`. Zero leaks, ksapp's rules beside wg-quick's, and
// wg-quick's intact after ksapp leaves. Positive control: an unprotected sender.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, fixturePath, removeLabClient, wgQuickClient, type Lab, type WgQuickClient } from '../src/lab/index.js';
import { ksappIn, removeTestGroups } from './helpers/ksapp.js';
import { appIn, seenIn, statusIn, tagIn } from './helpers/lab-view.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
let lab: Lab;
const children: Array<{ kill(signal?: NodeJS.Signals): unknown }> = [];
let daemon: ReturnType<typeof ksappIn> | undefined;

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
  // The lab's own client end goes; wg-quick takes its place, same name and port.
  await removeLabClient(lab);
  clients = { full: wgQuickClient(lab, 'wgq-full'), off: wgQuickClient(lab, 'wgq-off', { tableOff: true }) };
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon;
  if (lab) {
    await wgQuick('down', 'full').catch(() => undefined);
    await wgQuick('down', 'off').catch(() => undefined);
    await removeTestGroups(lab);
    await lab.destroy();
  }
});

const iface = (): string => lab.tunnel.clientIface;
let clients: Record<'full' | 'off', WgQuickClient>;
const wgQuick = (action: 'up' | 'down', kind: 'full' | 'off'): Promise<void> => clients[kind][action]();
const status = (): Promise<Status> => statusIn(lab);
const app = (name: string) => appIn(lab, name);
const tag = (name: string): string => tagIn(lab, name);
const seen = (name: string, from = 0) => seenIn(lab, name, from);
const startDaemon = async (): Promise<void> => {
  const config = path.join(lab.dir, 'wgq.yaml');
  await writeFile(config, ['tunnel:', `  interface: ${iface()}`, `  probe: { address: ${lab.tunnel.server4}, interval: 300ms, failures: 3 }`,
    `dns: { servers: [${lab.tunnel.server4}] }`, `cgroupParent: ksapp-t-${lab.suffix}`, ''].join('\n'));
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await status().catch(() => undefined)) !== undefined, 10_000, 50), 'daemon answers');
};
const stopDaemon = async (): Promise<void> => {
  for (const a of (await status()).apps) await ksappIn(lab, ['release', a.name]);
  daemon?.kill('SIGTERM');
  await daemon;
  daemon = undefined;
};
const sender = (name: string): void => {
  children.push(ksappIn(lab, ['run', '--name', name, '--', process.execPath, fixturePath('sender.mjs'), '--tag', tag(name), '--to', lab.addr.internet4, '--interval', '30']));
};
const control = (name: string): void => {
  const [enter, ...args] = lab.nsenterArgs('client');
  children.push(spawn(enter!, [...args, process.execPath, fixturePath('sender.mjs'), '--tag', tag(name), '--to', lab.addr.internet4, '--interval', '50'], { stdio: 'ignore' }));
};
/** What is ksapp's in the kernel: its table, its ip rules. */
const ksappLeft = async (): Promise<string[]> => {
  const left: string[] = [];
  if ((await lab.exec('client', ['nft', 'list', 'tables'])).includes('ksapp')) left.push('nft table');
  if (/lookup 2750\d/.test(await lab.exec('client', ['ip', 'rule']))) left.push('ip rule');
  return left;
};

test('wg-quick full tunnel: ksapp started after `wg-quick up` holds through down/up cycles; wg-quick intact after ksapp leaves', { skip, timeout: 90_000 }, async () => {
  await wgQuick('up', 'full');
  assert.match(await lab.exec('client', ['ip', 'rule']), /suppress_prefixlength 0/, 'wg-quick installed its own rules');
  await startDaemon();
  sender('wq');
  control('wqfree');
  assert.ok(await waitUntil(async () => (await seen('wq')).viaTunnel > 0, 10_000, 100), 'through the tunnel');
  const t0 = Date.now();
  for (let cycle = 0; cycle < 2; cycle++) {
    await wgQuick('down', 'full');
    assert.ok(await waitUntil(async () => (await app('wq'))?.state === 'frozen', 10_000, 50), `frozen on wg-quick down (cycle ${cycle})`);
    // With wg-quick's rules gone, unprotected traffic leaves from the client's own address: the control proves the path exists.
    const down = Date.now();
    assert.ok(await waitUntil(async () => (await seen('wqfree', down)).fromClient > 0, 10_000, 100), 'the unprotected control gets out directly');
    await wgQuick('up', 'full');
    assert.ok(await waitUntil(async () => (await app('wq'))?.state === 'running', 20_000, 100), `thawed on wg-quick up (cycle ${cycle})`);
    assert.ok(await waitUntil(async () => (await seen('wq', Date.now())).viaTunnel > 0, 10_000, 100), 'through the recreated tunnel');
  }
  // A silent server death too.
  await faultById('server-killed').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await app('wq'))?.state === 'frozen', 10_000, 50), 'frozen on a silent server death');
  } finally {
    await faultById('server-killed').repair(lab);
  }
  assert.ok(await waitUntil(async () => (await app('wq'))?.state === 'running', 20_000, 100));
  assert.equal((await seen('wq', t0)).fromClient, 0, 'not one protected packet from the client\'s own address');
  await stopDaemon();
  assert.deepEqual(await ksappLeft(), [], 'nothing of ksapp is left');
  assert.match(await lab.exec('client', ['ip', 'rule']), /suppress_prefixlength 0/, 'wg-quick\'s rules are intact');
  await wgQuick('down', 'full');
  assert.doesNotMatch(await lab.exec('client', ['ip', 'rule']), /suppress_prefixlength 0/, '`wg-quick down` still cleans up after itself');
});

test('wg-quick with `Table = off`, ksapp started before `wg-quick up`: the app waits frozen, then rides the tunnel by ksapp\'s routing alone', { skip, timeout: 60_000 }, async () => {
  await startDaemon();
  sender('wqoff');
  assert.ok(await waitUntil(async () => (await app('wqoff'))?.state === 'frozen', 10_000, 100), 'frozen while the interface does not exist');
  const t0 = Date.now();
  await wgQuick('up', 'off');
  assert.doesNotMatch(await lab.exec('client', ['ip', 'route', 'show', 'table', 'all']), new RegExp(`default dev ${iface()} table 51820`), 'Table = off: no route of wg-quick\'s');
  assert.ok(await waitUntil(async () => (await app('wqoff'))?.state === 'running', 20_000, 100), 'thawed once the tunnel is up');
  assert.ok(await waitUntil(async () => (await seen('wqoff', t0)).viaTunnel > 0, 10_000, 100), 'through the tunnel by ksapp\'s own table');
  await wgQuick('down', 'off');
  assert.ok(await waitUntil(async () => (await app('wqoff'))?.state === 'frozen', 10_000, 50));
  assert.equal((await seen('wqoff')).fromClient, 0);
  await stopDaemon();
  assert.deepEqual(await ksappLeft(), []);
});
