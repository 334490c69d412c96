// End-to-end, as a hostile local user would try it: names that escape the app's group, a socket
// directory others can write, a planted state.json, a fake daemon, root apps started by mistake and
// a caller's environment reaching the root daemon. Each test failed before its fix.
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { cgroupRoot } from '../cgroups/index.js';
import { CLI_PATH } from '../src/demo/ksapp-process.js';
import { waitUntil } from '../src/demo/wait.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { daemonGone, ksappIn, labConfig, labSocket, removeTestGroups } from './helpers/ksapp.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

let lab: Lab;
let root: string;
const started: Array<{ kill(signal: NodeJS.Signals): unknown }> = [];

before(async () => {
  lab = await createLab({ mode: 'app-only' });
  root = await cgroupRoot();
  // nobody must reach sockets in the lab's directory, which stays writable by root alone.
  await chmod(lab.dir, 0o755);
  await chmod(path.dirname(lab.dir), 0o711);
});
after(async () => {
  for (const p of started) p.kill('SIGKILL');
  await Promise.allSettled(started as unknown as Array<Promise<unknown>>);
  if (lab) await removeTestGroups(lab);
  await lab?.destroy();
});

/** Starts a long-running process in the client namespace and keeps it for the clean-up. */
const spawnIn = (argv: readonly string[], env: Record<string, string> = {}) => {
  const all = [...lab.nsenterArgs('client'), ...argv];
  const child = execa(all[0]!, all.slice(1), { reject: false, stdin: 'ignore', env });
  started.push(child);
  return child;
};
const statusOf = async (socket: string): Promise<Status | undefined> => {
  const res = await ksappIn(lab, ['--socket', socket, 'status', '--json']);
  if (res.exitCode !== 0) return undefined;
  try {
    return JSON.parse(String(res.stdout)) as Status;
  } catch (error) {
    throw new Error(`ksapp status exited 0 without a status: stdout ${JSON.stringify(String(res.stdout).slice(0, 200))}, stderr ${JSON.stringify(String(res.stderr).slice(0, 400))}`, { cause: error });
  }
};
const startDaemon = async (socket: string, config: string) => {
  const daemon = spawnIn([process.execPath, CLI_PATH, '--socket', socket, 'daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await statusOf(socket)) !== undefined, 10_000, 50), 'the daemon answers');
  return { process: daemon }; // wrapped: an async function would otherwise wait for the process to end
};
const stopDaemon = async (daemon: { process: ReturnType<typeof spawnIn> }): Promise<void> => {
  daemon.process.kill('SIGTERM');
  await daemon.process;
};

test('root without sudo: `ksapp run` will not start the app as root unless told so', async () => {
  const config = await labConfig(lab, 'asroot');
  const marker = path.join(lab.dir, 'ran-as-root');
  const argv = [...lab.nsenterArgs('client'), process.execPath, CLI_PATH, 'run', '--config', config, '--', 'touch', marker];
  const res = await execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', env: { KSAPP_SOCKET: labSocket(lab), PATH: process.env.PATH ?? '/usr/bin:/bin' }, extendEnv: false });
  assert.equal(res.exitCode, 2, String(res.stderr));
  assert.match(String(res.stderr), /refusing to start \S*touch as root/);
  assert.match(String(res.stderr), /--as-root/);
  assert.equal(await readFile(marker).then(() => true, () => false), false, 'the app never ran');
  const meant = await ksappIn(lab, ['run', '--as-root', '--config', config, '--', 'id', '-u']);
  assert.equal(meant.exitCode, 0, String(meant.stderr));
  assert.equal(String(meant.stdout).trim(), '0');
  assert.ok(await daemonGone(lab, 10_000), 'the auto-started daemon left');
});

test("a daemon started through sudo -E does not inherit the caller's KSAPP_ overrides", async () => {
  const config = await labConfig(lab, 'sudoenv');
  // A caller's nft would run as root inside the daemon; if it reached the daemon, the daemon could not start.
  const res = await ksappIn(lab, ['run', '--config', config, '--', 'id', '-u'], {
    env: { SUDO_UID: '65534', SUDO_GID: '65534', SUDO_USER: 'nobody', KSAPP_NFT: path.join(lab.dir, 'callers-nft') },
  });
  assert.equal(res.exitCode, 0, String(res.stderr));
  assert.equal(String(res.stdout).trim(), '65534');
  assert.ok(await daemonGone(lab, 10_000), 'the auto-started daemon left');
});

test('the daemon refuses a socket directory another user can write or owns', async () => {
  const config = await labConfig(lab, 'sockdir');
  const open = path.join(lab.dir, 'open');
  await mkdir(open);
  await chmod(open, 0o1777);
  const owned = path.join(lab.dir, 'owned');
  await mkdir(owned);
  await chown(owned, 65534, 65534);
  for (const [dir, why] of [[open, /writable by every user/], [owned, /belongs to uid 65534/]] as const) {
    const res = await ksappIn(lab, ['--socket', path.join(dir, 'k.sock'), 'daemon', '--foreground', '--config', config], { timeout: 20_000 });
    assert.equal(res.exitCode, 2, `${dir}: ${String(res.stderr)}`);
    assert.match(String(res.stderr), /unsafe socket directory/);
    assert.match(String(res.stderr), why);
  }
});

test('state.json is untrusted input: bad entries and a symlink are refused, never acted on', async () => {
  const config = await labConfig(lab, 'state');
  const socket = path.join(lab.dir, 'st.sock');
  const runDir = `${socket}.d`;
  await mkdir(runDir, { mode: 0o755 });
  const base = { onDrop: 'kill', allowLan: false, restart: false, uid: 65534, origin: 'adopted', addedAt: 1, manualFreeze: false };
  const hostile = {
    version: 1, cgroupParent: `ksapp-t-${lab.suffix}`,
    apps: [
      { ...base, name: '..', id: 1 },
      // The whole machine as an app nobody owns (so nobody could kill it).
      { ...base, name: 'evil', id: 2, inPlace: root },
      { ...base, name: 'sneaky', id: 3, adoption: { group: '/etc', moved: [{ pid: 2, from: '/../../etc' }], gone: [] } },
    ],
  };
  await writeFile(path.join(runDir, 'state.json'), JSON.stringify(hostile), { mode: 0o600 });
  let daemon = await startDaemon(socket, config);
  try {
    const status = (await statusOf(socket))!;
    assert.deepEqual(status.apps.map((a) => a.name), []);
    const dropped = status.events.filter((e) => e.type === 'state-dropped').map((e) => e.detail ?? '');
    assert.equal(dropped.length, 3, dropped.join('\n'));
    assert.match(dropped.join('\n'), /apps\[0\]: name must not be "\." or "\.\."/);
    assert.match(dropped.join('\n'), /apps\[1\]: inPlace/);
    assert.match(dropped.join('\n'), /apps\[2\]: adoption/);
  } finally {
    await stopDaemon(daemon);
  }

  // A link in place of the state: never read through, and the daemon's own save replaces the link, not its target.
  const target = path.join(lab.dir, 'not-the-state.json');
  const targetText = JSON.stringify({ ...hostile, apps: [hostile.apps[1]] });
  await writeFile(target, targetText, { mode: 0o644 });
  await mkdir(runDir, { mode: 0o755 }).catch(() => undefined);
  await symlink(target, path.join(runDir, 'state.json')).catch(async () => {
    const { rm } = await import('node:fs/promises');
    await rm(path.join(runDir, 'state.json'), { force: true });
    await symlink(target, path.join(runDir, 'state.json'));
  });
  daemon = await startDaemon(socket, config);
  try {
    const status = (await statusOf(socket))!;
    assert.deepEqual(status.apps.map((a) => a.name), []);
    assert.match(status.events.filter((e) => e.type === 'state-dropped').map((e) => e.detail).join('\n'), /symbolic link/);
  } finally {
    await stopDaemon(daemon);
  }
  assert.equal(await readFile(target, 'utf8'), targetText, 'the link target is untouched');
});

test("clients trust only root's daemon: a fake daemon of another user gets no request and no app", async () => {
  const fakeDir = path.join(lab.dir, 'fake');
  await mkdir(fakeDir);
  await chown(fakeDir, 65534, 65534);
  const socket = path.join(fakeDir, 'ksapp.sock');
  // Answers every request with success; to `register` it names the cgroup2 root as the app's group.
  const fake = `const net = require('net');
    net.createServer((c) => { c.on('error', () => {}); let buf = ''; c.on('data', (d) => { buf += d; const lines = buf.split('\\n'); buf = lines.pop();
      for (const l of lines) { const r = JSON.parse(l); c.write(JSON.stringify({ id: r.id, ok: true, result: { name: 'x', cgroup: ${JSON.stringify(root)}, parent: ${JSON.stringify(path.dirname(root))}, resolvConf: null } }) + '\\n'); } }); })
      .listen(${JSON.stringify(socket)}, () => console.log('ready'));`;
  const server = spawnIn([...NOBODY, process.execPath, '-e', fake]);
  assert.ok(await waitUntil(async () => (await readFile(socket).catch((e: NodeJS.ErrnoException) => e.code)) === 'ENXIO', 10_000, 25), 'the fake listens');
  const status = await ksappIn(lab, ['--socket', socket, 'status', '--json']);
  assert.equal(status.exitCode, 2, String(status.stdout));
  assert.match(String(status.stderr), /served by uid 65534, not by root/);
  const marker = path.join(lab.dir, 'ran-under-fake');
  const run = await ksappIn(lab, ['run', '--as-root', '--socket', socket, '--', 'touch', marker]);
  assert.notEqual(run.exitCode, 0);
  assert.equal(await readFile(marker).then(() => true, () => false), false, 'the app never ran');
  server.kill('SIGKILL');
});

test('the names "." and ".." are refused by the CLI and the socket, and other apps stay confined', async () => {
  const config = await labConfig(lab, 'names');
  const daemon = await startDaemon(labSocket(lab), config);
  try {
    const victim = spawnIn([process.execPath, CLI_PATH, '--socket', labSocket(lab), 'run', '--as-root', '--name', 'victim', '--', 'sleep', '60']);
    assert.ok(await waitUntil(async () => ((await statusOf(labSocket(lab)))?.apps.find((a) => a.name === 'victim')?.pids.length ?? 0) > 0, 10_000, 50));
    const cli = (args: string[]) => lab.exec('client', [...NOBODY, process.execPath, CLI_PATH, '--socket', labSocket(lab), ...args])
      .then(() => 0, (e: Error) => e.message);
    for (const name of ['.', '..']) {
      assert.match(String(await cli(['run', '--name', name, '--', 'sleep', '1'])), /must not be "\." or "\.\."/);
      assert.match(String(await cli(['release', name])), /must not be "\." or "\.\."/);
    }
    // The socket itself, spoken to directly: every request naming them is refused before the daemon acts.
    const requests = ['.', '..'].flatMap((name, i) => [
      { id: 10 * i + 1, op: 'register', name }, { id: 10 * i + 2, op: 'release', name }, { id: 10 * i + 3, op: 'kill', name },
      { id: 10 * i + 4, op: 'protect', pid: process.pid, name }, { id: 10 * i + 5, op: 'freeze', name },
    ]);
    const script = `const s = require('net').connect(process.argv[1]); let got = '';
      s.on('data', (d) => { got += d; if (got.split('\\n').length > ${requests.length}) { process.stdout.write(got); s.destroy(); } });
      s.write(process.argv[2]);`;
    const out = await lab.exec('client', [...NOBODY, process.execPath, '-e', script, labSocket(lab), requests.map((r) => JSON.stringify(r)).join('\n') + '\n']);
    const replies = out.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; error?: { code: string; message: string } });
    assert.equal(replies.length, requests.length);
    for (const r of replies) {
      assert.equal(r.ok, false);
      assert.equal(r.error?.code, 'BAD_REQUEST', r.error?.message);
    }
    const after = (await statusOf(labSocket(lab)))!;
    const v = after.apps.find((a) => a.name === 'victim');
    assert.ok(v && v.state === 'running' && v.pids.length > 0, 'the victim is still protected and running');
    for (const pid of v.pids) assert.match(await readFile(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`/ksapp-t-${lab.suffix}/victim\\n`));
    victim.kill('SIGTERM');
    await victim;
  } finally {
    await stopDaemon(daemon);
  }
});
