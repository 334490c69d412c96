// End-to-end: protecting what already runs — processes, a forking tree, a "unit" in place — in a real lab.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { Cgroup, cgroupRoot } from '../cgroups/index.js';
import { tally } from '../src/demo/classify.js';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import { heldSockets } from '../src/adopt/index.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, fixturePath, type Lab } from '../src/lab/index.js';
import { ksappIn, removeTestGroups } from './helpers/ksapp.js';

let lab: Lab;
let root: string;
let unitDir: string;
let watchedExe: string;
let daemon: ReturnType<typeof ksappIn> | undefined;
const spawned: Array<ReturnType<typeof execa>> = [];

before(async () => {
  lab = await createLab({ mode: 'app-only' });
  root = await cgroupRoot();
  unitDir = path.join(root, `ksapp-unit-${lab.suffix}.service`);
  const config = path.join(lab.dir, 'protect.yaml');
  watchedExe = path.join(lab.dir, `kw${lab.suffix}`);
  await copyFile('/bin/sleep', watchedExe);
  await writeFile(config, `tunnel:\n  interface: ${lab.tunnel.clientIface}\ncgroupParent: ksapp-t-${lab.suffix}\n` +
    `apps:\n  - name: watched\n    match: { exe: ${watchedExe} }\n    onDrop: freeze\n`);
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await ksappIn(lab, ['status'])).exitCode === 0, 10_000, 50));
});
after(async () => {
  for (const p of spawned) p.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon;
  if (existsSync(unitDir)) {
    await Cgroup.open(unitDir).kill().catch(() => undefined);
    await rmdir(unitDir).catch(() => undefined);
  }
  if (lab) await removeTestGroups(lab);
  await lab?.destroy();
});

const status = async (): Promise<Status> => JSON.parse(String((await ksappIn(lab, ['status', '--json'])).stdout)) as Status;
const app = async (name: string) => (await status()).apps.find((a) => a.name === name);
/** Starts a program in the client namespace with no protection at all, as a user would have. */
const unconfined = (argv: string[]) => {
  const child = execa(lab.nsenterArgs('client')[0]!, [...lab.nsenterArgs('client').slice(1), ...argv], { reject: false, stdin: 'ignore' });
  spawned.push(child);
  return child;
};
/** Inodes of the UDP sockets a process holds (from /proc/net/udp and its fds). */
const udpInodes = async (pid: number): Promise<number[]> => {
  const table = await readFile(`/proc/${pid}/net/udp`, 'utf8');
  const udp = new Set(table.split('\n').slice(1).map((l) => l.trim().split(/\s+/)[9]).filter(Boolean).map(Number));
  const held = [...(await heldSockets([pid])).keys()];
  return held.filter((i) => udp.has(i)).sort();
};
const sender = (tag: string, extra: string[] = []) =>
  [process.execPath, fixturePath('sender.mjs'), '--tag', tag, '--to', lab.addr.internet4, '--interval', '30', ...extra];

test('a running app with an open UDP socket and a TCP connection: after protect, not one packet leaves outside the tunnel', async () => {
  const tag = `ksold${lab.suffix}`;
  const child = unconfined(sender(tag, ['--protos', 'udp,tcp']));
  assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag).fromClient > 5, 8000, 50), 'it leaks before protection, as expected');
  // The sender keeps one UDP socket for its whole life: every UDP packet after the adoption comes from that old socket.
  const udpBefore = await udpInodes(child.pid!);
  assert.equal(udpBefore.length, 1, 'one UDP socket, opened before the adoption');
  const res = await ksappIn(lab, ['protect', '--pid', String(child.pid), '--name', 'old']);
  const t0 = Date.now();
  // ss -K only disconnects a UDP socket, so the daemon marks it: protected where it is, no restart.
  assert.equal(res.exitCode, 0, String(res.stdout) + String(res.stderr));
  assert.match(String(res.stdout), /marked udp .*firewall mark/);
  assert.equal((await app('old'))?.state, 'running');
  const udpViaTunnel = async () => (await lab.received()).filter((r) => r.tag === tag && r.proto === 'udp' && r.t >= t0 && lab.origin(r.src) === 'tunnel').length;
  assert.ok(await waitUntil(async () => (await udpViaTunnel()) >= 10, 8000, 100), 'the old UDP socket sends through the tunnel');
  assert.deepEqual(await udpInodes(child.pid!), udpBefore, 'still the same socket');
  assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag, t0).viaTunnel > (await udpViaTunnel()), 8000, 100), 'TCP reconnected through the tunnel');
  await sleep(300);
  assert.equal(tally(await lab.received(), lab, tag, t0).fromClient, 0, 'nothing leaked after the adoption');
  // When the tunnel goes, the marked socket is held like the app's own: frozen, and not one packet out elsewhere.
  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await app('old'))?.state === 'frozen', 5000, 50));
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
  assert.ok(await waitUntil(async () => (await app('old'))?.state === 'running', 8000, 50));
  await sleep(300);
  assert.equal(tally(await lab.received(), lab, tag, t0).fromClient, 0, 'nothing leaked through the outage');
  // Released, the app is as it was before ksapp: the mark comes off its old socket, which sends directly again.
  assert.equal((await ksappIn(lab, ['release', 'old'])).exitCode, 0);
  const t1 = Date.now();
  assert.ok(await waitUntil(async () => (await lab.received()).some((r) => r.tag === tag && r.proto === 'udp' && r.t >= t1 && lab.origin(r.src) === 'client'), 8000, 100),
    'after release its UDP socket is no longer steered into the tunnel');
  child.kill('SIGTERM');
});

test('a listener opened before the adoption is marked, not closed: it accepts through the tunnel only', async () => {
  const port = 7301;
  const server = unconfined([process.execPath, '-e',
    `require('node:net').createServer((c) => c.end('hello\\n')).listen(${port}, '0.0.0.0', () => console.log('ready'))`]);
  let out = '';
  server.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  assert.ok(await waitUntil(async () => out.includes('ready'), 5000, 20));
  /** Connects from a namespace of the lab; "hello" when the server answered, "fail …" otherwise (2 s at most). */
  const connect = (ns: string, host: string): Promise<string> => lab.exec(ns, [process.execPath, '-e', `
    const s = require('node:net').connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 2000 });
    let got = '';
    s.on('data', (d) => { got += d; });
    s.on('end', () => { console.log(got.trim()); process.exit(0); });
    s.on('timeout', () => { console.log('fail timeout'); process.exit(0); });
    s.on('error', (e) => { console.log('fail ' + e.code); process.exit(0); });`]).then((o) => o.trim());
  assert.equal(await connect('internet', lab.addr.client4), 'hello', 'before: reachable directly');
  const res = await ksappIn(lab, ['protect', '--pid', String(server.pid), '--name', 'lsn']);
  assert.equal(res.exitCode, 0, String(res.stdout) + String(res.stderr));
  assert.match(String(res.stdout), new RegExp(`marked tcp 0\\.0\\.0\\.0:${port}`));
  assert.doesNotMatch(String(res.stdout), /closed listening socket/);
  assert.equal((await app('lsn'))?.state, 'running');
  assert.equal(await connect('vpn', lab.tunnel.client4), 'hello', 'through the tunnel it still accepts, and answers through it');
  assert.match(await connect('internet', lab.addr.client4), /^fail/, 'directly it no longer does');
  assert.equal((await ksappIn(lab, ['kill', 'lsn'])).exitCode, 0);
});

test('a socket no mark can confine (a packet socket skips routing and the firewall): frozen, needs-restart, thaw refused', async () => {
  // python3 is one of install.sh's packages (node-gyp needs it); Node itself cannot open an AF_PACKET socket.
  const child = unconfined(['python3', '-c', 'import socket, sys, time\ns = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)\nprint("ready", flush=True)\ntime.sleep(60)']);
  // Its stdio are sockets too (pipes from node are socketpairs): wait for its word that the packet socket is open.
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  assert.ok(await waitUntil(async () => out.includes('ready'), 5000, 20), 'the packet socket is open');
  const res = await ksappIn(lab, ['protect', '--pid', String(child.pid), '--name', 'raw']);
  assert.equal(res.exitCode, 1, String(res.stdout) + String(res.stderr));
  assert.match(String(res.stdout), /NOT fully protected[\s\S]*packet inode \d+: a packet socket sends below IP routing and the firewall/);
  assert.equal((await app('raw'))?.state, 'needs-restart');
  const thaw = await ksappIn(lab, ['thaw', 'raw']);
  assert.equal(thaw.exitCode, 1);
  assert.match(String(thaw.stderr), /outside protection/);
  assert.equal((await ksappIn(lab, ['kill', 'raw'])).exitCode, 0);
  assert.ok(await waitUntil(async () => (await app('raw')) === undefined, 5000, 50), 'removed once killed');
});

test('a forking tree is adopted with its children; what they open afterwards goes through the tunnel', async () => {
  const tag = `ksfork${lab.suffix}`;
  const script = `(sleep 1.5; exec "$@" --tag ${tag}-child) & sleep 1.5; exec "$@" --tag ${tag}`;
  const parent = unconfined(['sh', '-c', script, 'sh', process.execPath, fixturePath('sender.mjs'), '--to', lab.addr.internet4, '--interval', '30']);
  await sleep(300);
  const res = await ksappIn(lab, ['protect', '--pid', String(parent.pid), '--name', 'forky']);
  assert.equal(res.exitCode, 0, String(res.stdout) + String(res.stderr));
  assert.ok(((await app('forky'))?.pids.length ?? 0) >= 2, 'the child came along');
  assert.ok(await waitUntil(async () => {
    const got = await lab.received();
    return tally(got, lab, tag).viaTunnel > 0 && tally(got, lab, `${tag}-child`).viaTunnel > 0;
  }, 8000, 100));
  assert.equal(tally(await lab.received(), lab, tag).fromClient, 0);
  assert.equal((await ksappIn(lab, ['kill', 'forky'])).exitCode, 0);
});

test('a unit protected in place: confined, frozen and thawed with the tunnel, released unchanged', async () => {
  const tag = `ksunit${lab.suffix}`;
  await mkdir(unitDir);
  // Start the "service" inside its group the way systemd would, before ksapp knows about it.
  const svc = unconfined(['sh', '-c', `echo $$ > ${unitDir}/cgroup.procs && exec "$@"`, 'sh', ...sender(tag)]);
  assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag).fromClient > 0, 8000, 50));
  const before = (await readFile(`${unitDir}/cgroup.procs`, 'utf8')).trim();
  const res = await ksappIn(lab, ['protect', '--cgroup', unitDir, '--name', 'unit']);
  assert.equal(res.exitCode, 0, String(res.stdout) + String(res.stderr));
  const t0 = Date.now();
  assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag, t0).viaTunnel > 0, 8000, 50), 'its traffic now goes through the tunnel');
  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await app('unit'))?.state === 'frozen', 5000, 50));
    assert.match(await readFile(`${unitDir}/cgroup.events`, 'utf8'), /frozen 1/);
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
  assert.ok(await waitUntil(async () => (await app('unit'))?.state === 'running', 8000, 50));
  const protectedEnd = Date.now();
  assert.equal(tally(await lab.received(), lab, tag, t0, protectedEnd).fromClient, 0);
  assert.equal((await ksappIn(lab, ['release', 'unit'])).exitCode, 0);
  assert.equal((await readFile(`${unitDir}/cgroup.procs`, 'utf8')).trim(), before, 'same processes, same group');
  assert.match(await readFile(`${unitDir}/cgroup.events`, 'utf8'), /frozen 0/);
  assert.equal(await app('unit'), undefined);
  svc.kill('SIGTERM');
});

test('a config rule naming an exe confines a process started later at its exec, before its first instruction', async () => {
  const child = unconfined([watchedExe, '30']);
  assert.ok(await waitUntil(async () => (await app('watched'))?.pids.includes(child.pid!) === true, 5000, 50), 'adopted');
  const adopted = async () => (await status()).events.find((e) => e.type === 'app-adopted' && e.app === 'watched');
  assert.ok(await waitUntil(async () => (await adopted()) !== undefined, 3000, 50));
  const event = await adopted();
  // The exec guard staged it before it ran; the daemon moved it into its group after.
  assert.match(event?.detail ?? '', /confined at exec, before its first instruction; adopted in \d+ ms/);
  assert.deepEqual((await status()).rules?.find((r) => r.app === 'watched'), { app: 'watched', guard: 'exec' });
  // The backup watcher still runs in the lab's network namespace, where the kernel's exec events are refused: it scans /proc, and says so.
  const note = (await status()).events.find((e) => e.type === 'exec-watch');
  assert.match(note?.detail ?? '', /scanning \/proc every 100 ms.*only in the initial network namespace/);
  child.kill('SIGTERM');
  assert.ok(await waitUntil(async () => (await app('watched')) === undefined, 5000, 50), 'removed when it exits');
});

test('release after a daemon restart still puts adopted processes back where they came from', async (t) => {
  const child = unconfined(['sleep', '60']);
  await sleep(200);
  // A group of its own to come from, so going back there cannot be mistaken for the root fallback.
  const origin = await Cgroup.create(path.join(root, `ksapp-orig-${lab.suffix}`));
  t.after(async () => {
    child.kill('SIGKILL');
    await child;
    await origin.kill().catch(() => undefined);
    await origin.remove().catch(() => undefined);
  });
  await origin.addPid(child.pid!);
  const before = (await readFile(`/proc/${child.pid}/cgroup`, 'utf8')).trim();
  assert.match(before, new RegExp(`ksapp-orig-${lab.suffix}`));
  assert.equal((await ksappIn(lab, ['protect', '--pid', String(child.pid), '--name', 'sleeper'])).exitCode, 0);
  assert.notEqual((await readFile(`/proc/${child.pid}/cgroup`, 'utf8')).trim(), before);
  daemon!.kill('SIGTERM');
  await daemon;
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', path.join(lab.dir, 'protect.yaml')]);
  assert.ok(await waitUntil(async () => (await app('sleeper').catch(() => undefined)) !== undefined, 10_000, 100), 'taken back');
  assert.equal((await ksappIn(lab, ['release', 'sleeper'])).exitCode, 0);
  assert.equal((await readFile(`/proc/${child.pid}/cgroup`, 'utf8')).trim(), before);
});

test('bad input: each a clear error, nothing half adopted', async () => {
  const before = (await status()).apps.length;
  const cases: Array<[string[], RegExp]> = [
    [['--pid', '4000000'], /no process 4000000|invalid pid/],
    [['--pid', '1'], /pid 1/],
    [['--pid', '2'], /kernel thread/],
    [['--pid', String(daemon!.pid)], /daemon itself|no process|cannot be adopted/],
    [['--exe', '/usr/bin/no-such-program-xyz'], /no running process|matches nothing|nothing/i],
    [['--cgroup', '../etc'], /"\.\."/],
    [['--cgroup', '/tmp'], /outside|not below|mount/i],
    [['--unit', 'no-such-unit-xyz.service'], /systemctl|not loaded|unit/i],
  ];
  for (const [args, message] of cases) {
    const res = await ksappIn(lab, ['protect', ...args]);
    assert.notEqual(res.exitCode, 0, args.join(' '));
    assert.match(String(res.stderr), message, `${args.join(' ')}: ${res.stderr}`);
  }
  assert.equal((await status()).apps.length, before);
});
