// End-to-end with OpenVPN (Debian's openvpn, server and client in the lab, keys made by the test):
// `redirect-gateway def1 ipv6` (its /1 routes, a tun device that goes and comes back on every client
// restart), a silent server death, a client restart. Zero leaks, detection by a probe (OpenVPN has no
// handshake age), OpenVPN's routes intact and nothing of ksapp left after it leaves. Positive control:
// an unprotected sender that gets out directly while the tunnel is gone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { waitUntil } from '../src/demo/wait.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, fixturePath, OPENVPN, startOpenvpn, type Lab, type OpenvpnLab } from '../src/lab/index.js';
import { ksappIn, removeTestGroups } from './helpers/ksapp.js';
import { appIn, seenIn, statusIn, tagIn } from './helpers/lab-view.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync('/usr/sbin/openvpn') ? 'openvpn is not installed (apt-get install openvpn)' : false;
let lab: Lab;
let vpn: OpenvpnLab;
const children: Array<{ kill(signal?: NodeJS.Signals): unknown }> = [];
let daemon: ReturnType<typeof ksappIn> | undefined;

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
  vpn = await startOpenvpn(lab);
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon;
  await vpn?.stop();
  if (lab) {
    await removeTestGroups(lab);
    await lab.destroy();
  }
});

const status = (): Promise<Status> => statusIn(lab);
const app = (name: string) => appIn(lab, name);
const tag = (name: string): string => tagIn(lab, name);
const seen = (name: string, from = 0) => seenIn(lab, name, from);
/** The daemon's view and the last events, for a failed assertion. */
const why = async (): Promise<string> => {
  const s = await status().catch((e: Error) => e.message);
  return typeof s === 'string' ? s : JSON.stringify({ tunnel: s.tunnel, apps: s.apps.map((a) => [a.name, a.state]), events: s.events.slice(-8).map((e) => `${e.type} ${e.detail ?? ''}`) });
};

test('OpenVPN with redirect-gateway def1: a silent server death and a client restart leak nothing; OpenVPN intact after ksapp leaves', { skip, timeout: 120_000 }, async () => {
  assert.match(await lab.exec('client', ['ip', 'route']), new RegExp(`0\\.0\\.0\\.0/1 via \\S+ dev ${vpn.clientIface}`), 'OpenVPN pulled its /1 routes');
  const config = path.join(lab.dir, 'openvpn.yaml');
  await writeFile(config, ['tunnel:', `  interface: ${vpn.clientIface}`, `  probe: { address: ${OPENVPN.server4}, interval: 300ms, failures: 3 }`,
    `dns: { servers: [${OPENVPN.server4}] }`, `cgroupParent: ksapp-t-${lab.suffix}`, ''].join('\n'));
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await status().catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), 'the daemon sees the tunnel up');
  // No handshake age for OpenVPN: the link and the probe watch it, and status says so.
  const { tunnel } = await status();
  assert.deepEqual([tunnel.kind, tunnel.sources, tunnel.advice], ['tun', ['link', 'probe'], undefined], JSON.stringify(tunnel));
  children.push(ksappIn(lab, ['run', '--name', 'ov', '--', process.execPath, fixturePath('sender.mjs'), '--tag', tag('ov'), '--to', lab.addr.internet4, '--interval', '30']));
  const [enter, ...args] = lab.nsenterArgs('client');
  children.push(spawn(enter!, [...args, process.execPath, fixturePath('sender.mjs'), '--tag', tag('ovfree'), '--to', lab.addr.internet4, '--interval', '50'], { stdio: 'ignore' }));
  assert.ok(await waitUntil(async () => (await seen('ov')).viaTunnel > 0, 10_000, 100), `${'through the OpenVPN tunnel'}: ${await why()}`);
  const t0 = Date.now();

  // The server dies without a word: the tun device stays up; only the probe can tell.
  await vpn.killServer();
  assert.ok(await waitUntil(async () => (await app('ov'))?.state === 'frozen', 10_000, 50), `${'frozen on a silent server death'}: ${await why()}`);
  assert.match((await status()).tunnel.reason, /probe/);
  await vpn.startServer();
  assert.ok(await waitUntil(async () => (await app('ov'))?.state === 'running', 40_000, 200), `${'thawed once the client has reconnected'}: ${await why()}`);

  // A client restart: its tun device and /1 routes go, and come back under the same name.
  const restart = vpn.restartClient();
  assert.ok(await waitUntil(async () => (await app('ov'))?.state === 'frozen', 10_000, 20), `${'frozen while the tun device is gone'}: ${await why()}`);
  await restart;
  assert.ok(await waitUntil(async () => (await app('ov'))?.state === 'running', 20_000, 100), `${'thawed on the recreated tun device'}: ${await why()}`);
  assert.ok(await waitUntil(async () => (await seen('ov', Date.now())).viaTunnel > 0, 20_000, 100), `${'through the tunnel again'}: ${await why()}`);
  assert.equal((await seen('ov', t0)).fromClient, 0, 'not one protected packet from the client\'s own address');
  // The positive control: the same sender, unprotected, is seen all along (through the tunnel or, while it is gone, directly).
  const free = await seen('ovfree', t0);
  assert.ok(free.viaTunnel + free.fromClient > 0, 'the unprotected control was seen');

  for (const a of (await status()).apps) await ksappIn(lab, ['release', a.name]);
  daemon.kill('SIGTERM');
  await daemon;
  daemon = undefined;
  assert.doesNotMatch(await lab.exec('client', ['nft', 'list', 'tables']), /ksapp/);
  assert.doesNotMatch(await lab.exec('client', ['ip', 'rule']), /lookup 2750\d/);
  assert.match(await lab.exec('client', ['ip', 'route']), new RegExp(`0\\.0\\.0\\.0/1 via \\S+ dev ${vpn.clientIface}`), 'OpenVPN\'s routes are intact');
});
