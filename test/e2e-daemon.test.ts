// End-to-end: the daemon with several apps, its socket API, its config and its state, in a real lab.
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cgroupRoot } from '../cgroups/index.js';
import { tally } from '../src/demo/classify.js';
import { faultById } from '../src/demo/faults.js';
import { groupFlags, waitUntil } from '../src/demo/wait.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, fixturePath, type Lab } from '../src/lab/index.js';
import { writeLabConfig } from '../src/demo/lab-config.js';
import { ksappIn, labSocket, removeTestGroups } from './helpers/ksapp.js';

let lab: Lab;
let root: string;
let config: string;
let daemon: ReturnType<typeof ksappIn> | undefined;
const children: Array<ReturnType<typeof ksappIn>> = [];

before(async () => {
  lab = await createLab({ mode: 'app-only' });
  root = await cgroupRoot();
  config = await writeLabConfig(lab, 'daemon', {
    cgroupParent: `ksapp-t-${lab.suffix}`, probe: true,
    extra: ['apps:', '  - name: cfgapp', `    command: [${process.execPath}, ${fixturePath('sender.mjs')}, --tag, kscfg${lab.suffix}, --to, ${lab.addr.internet4}, --interval, '50']`,
      '    onDrop: freeze'],
  });
  // A non-root user must reach the socket: the lab keeps its files below a directory only root may list.
  await chmod(lab.dir, 0o755);
  await chmod(path.dirname(lab.dir), 0o711);
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon;
  if (lab) await removeTestGroups(lab);
  await lab?.destroy();
});

const startDaemon = async (): Promise<void> => {
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await status().catch(() => undefined)) !== undefined, 10_000, 50), 'daemon answers');
};
const status = async (): Promise<Status> => {
  const res = await ksappIn(lab, ['status', '--json']);
  if (res.exitCode !== 0) throw new Error(String(res.stderr));
  return JSON.parse(String(res.stdout)) as Status;
};
const app = async (name: string) => (await status()).apps.find((a) => a.name === name);
const sender = (name: string, policy: string, extra: string[] = []) => {
  const child = ksappIn(lab, ['run', '--name', name, '--on-drop', policy, ...extra, '--',
    process.execPath, fixturePath('sender.mjs'), '--tag', `ks${name}${lab.suffix}`, '--to', lab.addr.internet4, '--interval', '30']);
  children.push(child);
  return child;
};
const raw = (line: string): Promise<string> => new Promise((resolve, reject) => {
  const s = net.connect(labSocket(lab));
  let data = '';
  s.on('data', (d) => { data += d.toString(); if (data.includes('\n')) { s.destroy(); resolve(data); } });
  s.on('error', reject);
  s.on('connect', () => s.write(line));
});

test('three apps with three policies: tunnel dropped and restored, each ends in its state', async () => {
  await startDaemon();
  sender('fz', 'freeze');
  const killed = sender('kl', 'kill', ['--restart']);
  sender('bk', 'block');
  assert.ok(await waitUntil(async () => (await status()).apps.length === 3, 10_000, 100));
  assert.ok(await waitUntil(async () => {
    const got = await lab.received();
    return ['fz', 'kl', 'bk'].every((n) => tally(got, lab, `ks${n}${lab.suffix}`).viaTunnel > 0);
  }, 10_000, 100), 'all three send through the tunnel');
  const t0 = Date.now();
  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => {
      const s = await status();
      return s.tunnel.state === 'down' && (await app('fz'))?.state === 'frozen' && (await app('bk'))?.state === 'blocked' && (await app('kl'))?.state === 'killed';
    }, 10_000, 50), JSON.stringify((await status()).apps.map((a) => [a.name, a.state])));
    assert.equal(killed.exitCode, null, '`ksapp run --restart` waits for the tunnel instead of exiting');
    // A deletion first reads as "set down"; the monitor's better reason reaches status.
    assert.ok(await waitUntil(async () => /deleted/.test((await status()).tunnel.reason), 5000, 50), (await status()).tunnel.reason);
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
  assert.ok(await waitUntil(async () => (await status()).apps.every((a) => a.state === 'running') && (await status()).tunnel.state === 'up', 15_000, 100));
  // --restart: the killed app is started again and sends through the tunnel.
  const back = Date.now();
  assert.ok(await waitUntil(async () => tally(await lab.received(), lab, `kskl${lab.suffix}`, back).viaTunnel > 0, 15_000, 100), 'killed app restarted');
  for (const n of ['fz', 'kl', 'bk']) assert.equal(tally(await lab.received(), lab, `ks${n}${lab.suffix}`, t0).fromClient, 0, `${n} leaked`);
  const s = await status();
  assert.ok(s.tunnel.lastReactionMs !== null && s.events.some((e) => e.type === 'tunnel-down'));
  assert.ok((await app('bk'))!.packets.tunnel > 0);
});

test('a user may not release, kill or thaw root’s app; anyone may look', async () => {
  const argv = (args: string[]) => ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath,
    path.resolve('dist/src/cli.js'), ...args];
  const run = (args: string[]) => lab.exec('client', argv(args)).then((out) => ({ ok: true, out }), (e: Error) => ({ ok: false, out: e.message }));
  const look = await run(['--socket', labSocket(lab), 'status', '--json']);
  assert.ok(look.ok, look.out);
  const release = await run(['--socket', labSocket(lab), 'release', 'fz']);
  assert.equal(release.ok, false);
  assert.match(release.out, /belongs to uid 0, you are uid 65534/);
  assert.ok(await app('fz'), 'still protected');
});

test('an unprivileged user runs an app: the daemon moves it into its group before it runs, and it is theirs', async () => {
  const tag = `ksnobody${lab.suffix}`;
  const argv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, path.resolve('dist/src/cli.js'),
    '--socket', labSocket(lab), 'run', '--name', 'nobodys', '--', 'bash', '-c', `cat /proc/self/cgroup; id -u; echo "${tag} 1" > /dev/udp/${lab.addr.internet4}/7000`];
  const out = await lab.exec('client', argv);
  assert.match(out, new RegExp(`^0::/ksapp-t-${lab.suffix}/nobodys$`, 'm'));
  assert.match(out, /^65534$/m);
  assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag).viaTunnel === 1, 3000, 50));
  assert.equal(tally(await lab.received(), lab, tag).fromClient, 0);
  // The daemon refuses to move anything but the caller's own stopped child.
  const sleeper = ksappIn(lab, ['run', '--name', 'rootapp', '--', 'sleep', '30']);
  children.push(sleeper);
  assert.ok(await waitUntil(async () => (await app('rootapp')) !== undefined, 5000, 50));
  const steal = await raw(`{"id":9,"op":"enter","name":"rootapp","pid":${process.pid}}\n`);
  assert.match(steal, /not your own stopped child/);
  sleeper.kill('SIGTERM');
});

test('malformed, unknown and oversized requests get errors; the daemon keeps serving', async () => {
  assert.match(await raw('not json\n'), /"ok":false.*not valid JSON/);
  assert.match(await raw('{"id":1,"op":"explode"}\n'), /unknown op/);
  assert.match(await raw('{"id":2,"op":"freeze","name":"../../etc"}\n'), /name must be/);
  assert.match(await raw('{"id":3,"op":"freeze","name":"nosuch"}\n'), /no protected app named \\"nosuch\\"/);
  assert.match(await raw(`{"id":4,"op":"status","pad":"${'x'.repeat(70_000)}"}\n`), /REQUEST_TOO_LARGE/);
  assert.ok(await status());
});

test('manual freeze/thaw and a duplicate name', async () => {
  assert.equal((await ksappIn(lab, ['freeze', 'fz'])).exitCode, 0);
  assert.equal((await app('fz'))?.state, 'frozen');
  assert.equal((await ksappIn(lab, ['thaw', 'fz'])).exitCode, 0);
  assert.equal((await app('fz'))?.state, 'running');
  const dup = await ksappIn(lab, ['run', '--name', 'fz', '--', 'true']);
  assert.equal(dup.exitCode, 2);
  assert.match(String(dup.stderr), /already protected/);
  const unknown = await ksappIn(lab, ['kill', 'nosuch']);
  assert.equal(unknown.exitCode, 2);
});

test('ksapp start NAME starts a config app under protection; unknown and duplicate names are refused', async () => {
  const started = await ksappIn(lab, ['start', 'cfgapp']);
  assert.equal(started.exitCode, 0, String(started.stderr));
  assert.equal((await app('cfgapp'))?.origin, 'config');
  assert.ok(await waitUntil(async () => tally(await lab.received(), lab, `kscfg${lab.suffix}`).viaTunnel > 0, 8000, 100));
  assert.equal(tally(await lab.received(), lab, `kscfg${lab.suffix}`).fromClient, 0);
  const again = await ksappIn(lab, ['start', 'cfgapp']);
  assert.equal(again.exitCode, 2);
  const unknown = await ksappIn(lab, ['start', 'nosuch']);
  assert.equal(unknown.exitCode, 2);
  assert.match(String(unknown.stderr), /no app named "nosuch"[\s\S]*config apps: cfgapp/);
  assert.equal((await ksappIn(lab, ['kill', 'cfgapp'])).exitCode, 0);
  assert.ok(await waitUntil(async () => (await app('cfgapp')) === undefined, 5000, 100), 'removed once its group is empty');
});

test('config edited live: valid, invalid (kept last good, reported), valid again', async () => {
  const good = (await import('node:fs')).readFileSync(config, 'utf8');
  await writeFile(config, `${good}\nbogus: 1\n`);
  assert.ok(await waitUntil(async () => (await status()).config.error !== null, 5000, 100));
  assert.match((await status()).config.error!, /bogus/);
  // DNS applies at once; a new probe interval can't reach the running monitor, and the reload says so.
  const edited = good.replace(/dns: \{ servers: \[[^\]]*\] \}/, `dns: { servers: [${lab.tunnel.server4}] }`).replace('interval: 300ms', 'interval: 400ms');
  assert.notEqual(edited, good);
  await writeFile(config, edited);
  assert.ok(await waitUntil(async () => (await status()).config.error === null, 5000, 100));
  assert.ok(await waitUntil(async () => (await status()).events.some((e) => e.type === 'config-reloaded'), 5000, 100));
  const reload = (await status()).events.filter((e) => e.type === 'config-reloaded').at(-1);
  assert.match(reload?.detail ?? '', /\(tunnel\.probe take effect at the next daemon start\)/);
  // An app started now sees the reloaded resolvers in its resolv.conf.
  const cat = await ksappIn(lab, ['run', '--name', 'rcat', '--', 'cat', '/etc/resolv.conf']);
  assert.equal(cat.exitCode, 0, String(cat.stderr));
  assert.match(String(cat.stdout), new RegExp(`^nameserver ${lab.tunnel.server4.replaceAll('.', '\\.')}$`, 'm'));
  assert.doesNotMatch(String(cat.stdout), new RegExp(`nameserver ${lab.tunnel.server6}`));
});

test('a route into the tunnel removed from our table by someone else is put back', async () => {
  await lab.exec('client', ['ip', 'route', 'del', 'default', 'table', '27507', 'dev', lab.tunnel.clientIface]);
  assert.ok(await waitUntil(async () => (await lab.exec('client', ['ip', 'route', 'show', 'table', '27507'])).includes(lab.tunnel.clientIface), 3000, 50));
  assert.ok((await status()).events.some((e) => e.type === 'route-restored'));
});

test('daemon SIGKILLed with an app frozen and others running: no leak, state recovered by the next daemon', async () => {
  assert.equal((await ksappIn(lab, ['freeze', 'bk'])).exitCode, 0);
  const before = await status();
  daemon!.kill('SIGKILL');
  await daemon;
  const t0 = Date.now();
  await faultById('tunnel-deleted').inject(lab);
  try {
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(tally(await lab.received(), lab, `ksfz${lab.suffix}`, t0).fromClient, 0, 'rules held without a daemon');
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
  await startDaemon();
  const after = await status();
  assert.deepEqual(after.apps.map((a) => a.name).sort(), before.apps.map((a) => a.name).sort());
  assert.equal((await app('bk'))?.state, 'frozen', 'a manual freeze survives');
  assert.equal((await app('kl'))?.policy, 'kill');
  assert.ok(after.events.some((e) => e.type === 'app-recovered'));
  assert.equal((await groupFlags(path.join(root, `ksapp-t-${lab.suffix}`, 'bk')))?.frozen, true);
});

test('bad socket paths: not a socket, a second daemon on a live socket', async () => {
  if (!(await status().catch(() => undefined))) await startDaemon();
  const file = path.join(lab.dir, 'not-a-socket');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, 'x');
  const notSock = await ksappIn(lab, ['--socket', file, 'daemon', '--foreground', '--config', config]);
  assert.equal(notSock.exitCode, 2);
  assert.match(String(notSock.stderr), /exists but is not a socket/);
  const second = await ksappIn(lab, ['daemon', '--foreground', '--config', config], { timeout: 20_000 });
  assert.notEqual(second.exitCode, 0);
  assert.match(String(second.stderr), /another ksapp daemon \(pid \d+\)|already serving/);
  // Another socket and another parent, same network namespace: its table would replace the first one's.
  const otherConfig = path.join(lab.dir, 'other.yaml');
  await writeFile(otherConfig, `tunnel:\n  interface: ${lab.tunnel.clientIface}\ncgroupParent: ksapp-t-${lab.suffix}-other\n`);
  const third = await ksappIn(lab, ['--socket', path.join(lab.dir, 'other.sock'), 'daemon', '--foreground', '--config', otherConfig], { timeout: 20_000 });
  assert.equal(third.exitCode, 1);
  assert.match(String(third.stderr), /already owns the firewall of this network namespace/);
  assert.ok(await status(), 'the first daemon still serves');
});
