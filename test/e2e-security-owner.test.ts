// End-to-end: a non-root `ksapp protect` moves only the caller's own processes. A user's process with a
// root child and a setuid-shaped child (real uid the user's, effective and saved root) is protected as
// nobody: the user's process goes into the app's group, the others stay where they were, and the user's
// freeze and kill of the app never reach them. Each test here failed before the check.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { Cgroup, cgroupRoot, parseProcCgroup } from '../cgroups/index.js';
import { moveIfOwned, type Pidfd } from '../src/adopt/owned.js';
import { readStat } from '../src/adopt/index.js';
import { CLI_PATH } from '../src/demo/ksapp-process.js';
import { groupFlags, waitUntil } from '../src/demo/wait.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { daemonView, ksappIn, labConfig, labSocket, removeTestGroups } from './helpers/ksapp.js';

const NOBODY = 65534;
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];

let lab: Lab;
let root: string;
let daemon: ReturnType<typeof ksappIn> | undefined;
const started: Array<ReturnType<typeof execa>> = [];
const groups: Cgroup[] = [];

before(async () => {
  lab = await createLab({ mode: 'app-only' });
  root = await cgroupRoot();
  // nobody must reach the socket in the lab's directory, which stays writable by root alone.
  await chmod(lab.dir, 0o755);
  await chmod(path.dirname(lab.dir), 0o711);
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', await labConfig(lab, 'owner')]);
  assert.ok(await waitUntil(async () => (await ksappIn(lab, ['status'])).exitCode === 0, 10_000, 50), 'the daemon answers');
});
after(async () => {
  for (const p of started) p.kill('SIGKILL');
  // The groups hold what the trees forked, orphans included.
  for (const g of groups) await g.kill().catch(() => undefined);
  await Promise.allSettled(started);
  for (const g of groups) await g.remove().catch(() => undefined);
  daemon?.kill('SIGTERM');
  await daemon;
  if (lab) await removeTestGroups(lab);
  await lab?.destroy();
});

/** A group of this run's own below the cgroup2 root, killed and removed in `after`. */
const ownGroup = async (name: string): Promise<Cgroup> => {
  const group = await Cgroup.create(path.join(root, `ksapp-own-${name}-${lab.suffix}`));
  groups.push(group);
  return group;
};
/** Starts a process tree in the client namespace as root, inside `group`, and keeps it for the clean-up. */
const spawnIn = (group: Cgroup, script: string) => {
  const argv = [...lab.nsenterArgs('client'), 'sh', '-c', `echo $$ > ${group.path}/cgroup.procs || exit 1; ${script}`];
  // No pipes: a child that outlives the shell would hold them open, and execa would wait for it.
  const child = execa(argv[0]!, argv.slice(1), { reject: false, stdio: 'ignore' });
  started.push(child);
  return child;
};
/** The ksapp CLI run as nobody in the client namespace, against the lab's daemon. */
const asNobody = (args: readonly string[]) => {
  const argv = [...lab.nsenterArgs('client'), ...AS_NOBODY, process.execPath, CLI_PATH, '--socket', labSocket(lab), ...args];
  return execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore' });
};
const status = async (): Promise<Status> => JSON.parse(String((await ksappIn(lab, ['status', '--json'])).stdout)) as Status;
/** The v2 group of a process, below the mount (hybrid mounts list v1 hierarchies too). */
const cgroupOf = async (pid: number): Promise<string | undefined> => parseProcCgroup(await readFile(`/proc/${pid}/cgroup`, 'utf8'));
const uidsOf = async (pid: number): Promise<string> => (/^Uid:\s*(.*)$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1] ?? '').replace(/\s+/g, ' ');
const childrenOf = async (pid: number): Promise<number[]> =>
  (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
const running = async (pid: number): Promise<boolean> => {
  const state = (await readStat(pid))?.state;
  return state !== undefined && state !== 'Z' && state !== 'X';
};

/**
 * nobody's `sleep` with two children forked while the shell was still root: a root `sleep`, and one
 * whose real uid is nobody's but effective and saved uid root's (what a setuid program looks like).
 */
const mixedTree = async (group: Cgroup): Promise<{ parent: number; rootChild: number; setuidChild: number }> => {
  const tree = spawnIn(group, `sleep 300 & setpriv --ruid=${NOBODY} -- sleep 300 & exec ${AS_NOBODY.join(' ')} sleep 300`);
  const parent = tree.pid!;
  const kids = async () => Promise.all((await childrenOf(parent)).map(async (pid) => ({ pid, uids: await uidsOf(pid) })));
  // Up when the parent is nobody's sleep and both children run sleep (not the shell between fork and exec) with their uids.
  const up = async (): Promise<boolean> => {
    const all = await kids();
    const comms = await Promise.all([parent, ...all.map((k) => k.pid)].map(async (pid) => (await readStat(pid))?.comm));
    return (await uidsOf(parent)) === '65534 65534 65534 65534' && all.length === 2 && comms.every((c) => c === 'sleep') &&
      all.some((k) => k.uids === '0 0 0 0') && all.some((k) => k.uids === '65534 0 0 0');
  };
  assert.ok(await waitUntil(up, 5000, 20), 'the tree is up');
  const all = await kids();
  return { parent, rootChild: all.find((k) => k.uids === '0 0 0 0')!.pid, setuidChild: all.find((k) => k.uids === '65534 0 0 0')!.pid };
};

test('nobody protects their own process: its root and setuid children stay where they were, and freeze and kill never reach them', async () => {
  const origin = await ownGroup('tree');
  const { parent, rootChild, setuidChild } = await mixedTree(origin);
  const before = await cgroupOf(rootChild);
  assert.equal(await cgroupOf(setuidChild), before);
  const res = await asNobody(['protect', '--pid', String(parent), '--name', 'mine']);
  assert.equal(res.exitCode, 0, `${String(res.stdout)}${String(res.stderr)} ${await daemonView(lab)}`);
  assert.match(String(res.stdout), /^mine: 1 process\(es\) moved into /m);
  const line = String(res.stdout).split('\n').find((l) => /left out/.test(l)) ?? '';
  assert.match(line, /left out 2 process\(es\) that are not yours/);
  assert.match(line, new RegExp(`${rootChild} \\(sleep\\): it runs as uid 0`));
  assert.match(line, new RegExp(`${setuidChild} \\(sleep\\): it holds uid 0's privileges \\(effective uid 0, saved uid 0\\)`));
  assert.equal(await cgroupOf(parent), `/ksapp-t-${lab.suffix}/mine`);
  assert.equal(await cgroupOf(rootChild), before, 'the root child stayed where it was');
  assert.equal(await cgroupOf(setuidChild), before, 'the setuid child stayed where it was');
  const app = (await status()).apps.find((a) => a.name === 'mine');
  assert.deepEqual(app?.pids, [parent]);
  const adopted = (await status()).events.find((e) => e.type === 'app-adopted' && e.app === 'mine');
  assert.match(adopted?.detail ?? '', new RegExp(`left out, not the caller's: ${rootChild} \\(sleep\\).*${setuidChild} \\(sleep\\)|left out, not the caller's: ${setuidChild} \\(sleep\\).*${rootChild} \\(sleep\\)`));

  const freeze = await asNobody(['freeze', 'mine']);
  assert.equal(freeze.exitCode, 0, String(freeze.stderr));
  assert.equal((await groupFlags(app!.cgroup))?.frozen, true, "nobody's app is frozen");
  assert.equal((await groupFlags(origin.path))?.frozen, false, 'where the children are, nothing is');
  assert.equal((await asNobody(['thaw', 'mine'])).exitCode, 0);
  const kill = await asNobody(['kill', 'mine']);
  assert.equal(kill.exitCode, 0, String(kill.stderr));
  assert.ok(await waitUntil(async () => !(await running(parent)), 5000, 20), "nobody's process was killed");
  assert.equal(await running(rootChild), true, 'the root child lives');
  assert.equal(await running(setuidChild), true, 'the setuid child lives');
  assert.equal(await cgroupOf(rootChild), before);
});

test('root protects the same tree: everything moves, as before', async () => {
  const origin = await ownGroup('roottree');
  const { parent, rootChild, setuidChild } = await mixedTree(origin);
  const res = await ksappIn(lab, ['protect', '--pid', String(parent), '--name', 'whole']);
  assert.equal(res.exitCode, 0, String(res.stderr));
  assert.match(String(res.stdout), /^whole: 3 process\(es\) moved/m);
  assert.doesNotMatch(String(res.stdout), /left out/);
  for (const pid of [parent, rootChild, setuidChild]) assert.equal(await cgroupOf(pid), `/ksapp-t-${lab.suffix}/whole`);
  assert.equal((await ksappIn(lab, ['release', 'whole'])).exitCode, 0);
  for (const pid of [parent, rootChild, setuidChild]) assert.equal(await cgroupOf(pid), `/${path.relative(root, origin.path)}`);
});

test('nobody protecting a group in place: refused while a setuid-shaped process is in it; allowed when all of it is theirs', async () => {
  const mixed = await ownGroup('unit');
  spawnIn(mixed, `setpriv --ruid=${NOBODY} -- sleep 300 & exec ${AS_NOBODY.join(' ')} sleep 300`);
  assert.ok(await waitUntil(async () => (await mixed.procs()).length === 2 && (await Promise.all((await mixed.procs()).map((p) => readStat(p)))).every((s) => s?.comm === 'sleep'), 5000, 20));
  const refused = await asNobody(['protect', '--cgroup', mixed.path, '--name', 'mixedunit']);
  assert.notEqual(refused.exitCode, 0, String(refused.stdout));
  assert.match(String(refused.stderr), /is not yours \(it holds uid 0's privileges \(effective uid 0, saved uid 0\)/);
  assert.equal((await status()).apps.find((a) => a.name === 'mixedunit'), undefined);

  const own = await ownGroup('ownunit');
  spawnIn(own, `exec ${AS_NOBODY.join(' ')} sleep 300`);
  assert.ok(await waitUntil(async () => (await uidsOf((await own.procs())[0] ?? 0)) === '65534 65534 65534 65534', 5000, 20));
  const allowed = await asNobody(['protect', '--cgroup', own.path, '--name', 'ownunit']);
  assert.equal(allowed.exitCode, 0, String(allowed.stderr));
  assert.equal((await asNobody(['release', 'ownunit'])).exitCode, 0);
});

test('the pid is reused between the checked write and the second look: the stranger that was moved goes back', async () => {
  // The kernel cannot be made to reuse a pid on cue, so a stand-in /proc and pidfd play it: the checked
  // process (nobody's) "dies" right after the write, and its pid then names a real root process that the
  // write moved into the group. moveIfOwned must find it there and put it back where the target came from.
  const origin = await ownGroup('race-origin');
  const target = await ownGroup('race-app');
  const stranger = spawnIn(origin, 'exec sleep 300');
  assert.ok(await waitUntil(async () => (await readStat(stranger.pid!))?.comm === 'sleep', 5000, 20));
  const pid = stranger.pid!;
  const proc = path.join(lab.dir, 'fake-proc');
  const rel = (g: Cgroup) => `/${path.relative(root, g.path)}`;
  /** What the stand-in /proc says of the pid: whose it is and where. */
  const fake = (uid: number, where: Cgroup): void => {
    mkdirSync(path.join(proc, String(pid)), { recursive: true });
    writeFileSync(path.join(proc, String(pid), 'stat'), `${pid} (sleep) S 1 ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n`);
    writeFileSync(path.join(proc, String(pid), 'status'), `Name:\tsleep\nState:\tS (sleeping)\nTgid:\t${pid}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
    writeFileSync(path.join(proc, String(pid), 'cgroup'), `0::${rel(where)}\n`);
  };
  fake(NOBODY, origin);
  let calls = 0;
  const pidfd: Pidfd = {
    open: () => 100 + calls,
    alive: () => {
      calls += 1;
      if (calls !== 2) return true;
      // Asked right after the write: the checked process is gone, and its pid now names root's process, which the write moved.
      fake(0, target);
      return false;
    },
    close: () => undefined,
  };
  const outcome = await moveIfOwned(target, pid, { owner: NOBODY, target: rel(target), root, procRoot: proc, pidfd });
  assert.deepEqual(outcome, { kind: 'gone' }, 'the checked process died, so nothing of it was moved');
  assert.equal(await cgroupOf(pid), rel(origin), 'the root process the write had moved is back where the target came from');
  assert.ok(calls >= 3, 'the pid was looked at again through a new pidfd');
  assert.ok(existsSync(`/proc/${pid}`));
});
