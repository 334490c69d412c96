// End-to-end: a config rule naming a program confines every launch of it before its first instruction,
// however it is started (here: from outside ksapp), also after the file is replaced, and a process whose
// exec waited while the daemon died is confined by the next daemon at its start.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rename, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { cgroupRoot } from '../cgroups/index.js';
import { tally } from '../src/demo/classify.js';
import { waitUntil } from '../src/demo/wait.js';
import type { Status } from '../src/ipc/protocol.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { daemonGone, daemonView, ksappIn, labConfig, removeTestGroups } from './helpers/ksapp.js';

let lab: Lab;
let program: string;
let script: string;
let config: string;
const started: Array<{ kill(signal?: NodeJS.Signals): unknown; pid?: number }> = [];

before(async () => {
  lab = await createLab({ mode: 'app-only' });
  program = path.join(lab.dir, 'first-packet');
  await execa('cc', ['-O2', '-o', program, path.resolve('test/fixtures/first-packet.c')]);
  // A script is guarded by its own file (its interpreter is not marked).
  script = path.join(lab.dir, 'first-packet.sh');
  await execa('sh', ['-c', `printf '#!/bin/bash\\necho "$1 script" > /dev/udp/$2/$3\\n' > ${script} && chmod +x ${script}`]);
  config = await labConfig(lab, 'guard', ['apps:', '  - name: guarded', `    match: { exe: ${program} }`, '  - name: scripted', `    match: { exe: ${script} }`,
    // Rules the guard cannot hold: said so, and the others are guarded all the same.
    '  - name: missing', `    match: { exe: ${path.join(lab.dir, 'not-installed')} }`, '  - name: directory', `    match: { exe: ${lab.dir} }`,
    '  - name: byname', '    match: { name: some-daemon }'].join('\n'));
});
after(async () => {
  for (const p of started) p.kill('SIGKILL');
  if (lab) await removeTestGroups(lab);
  await lab?.destroy();
});

const status = async (): Promise<Status | undefined> => {
  const res = await ksappIn(lab, ['status', '--json']);
  return res.exitCode === 0 ? JSON.parse(String(res.stdout)) as Status : undefined;
};
const startDaemon = async () => {
  const daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  started.push(daemon);
  assert.ok(await waitUntil(async () => (await status())?.rules?.filter((r) => r.guard === 'exec').length === 2, 10_000, 50),
    `both rules are guarded at exec: ${JSON.stringify((await status())?.rules)}`);
  return { process: daemon }; // wrapped: an async function would otherwise wait for the process to end
};
/** Starts the program n times at once from outside ksapp, as a desktop menu, a script or a browser's launcher would. */
const launch = async (tag: string, n: number): Promise<void> => {
  await Promise.all(Array.from({ length: n }, () => lab.exec('client', [program, tag, lab.addr.internet4, '7000'])));
};

test('twenty launches at once from outside ksapp: every first packet, and every child, goes through the tunnel', async () => {
  const daemon = await startDaemon();
  try {
    const rules = (await status())!.rules!;
    assert.deepEqual(rules.filter((r) => r.guard === 'exec').map((r) => r.app), ['guarded', 'scripted']);
    const why = (app: string): string => rules.find((r) => r.app === app)?.why ?? '';
    // Named by where the rule is written (file:line), and why.
    assert.match(why('missing'), /\.yaml:\d+: cannot guard .*not-installed: it does not exist/);
    assert.match(why('directory'), /\.yaml:\d+: cannot guard .*: it is a directory/);
    assert.match(why('byname'), /names no exe/);
    // doctor says the same, rule by rule.
    const doctor = JSON.parse(String((await ksappIn(lab, ['doctor', '--json'])).stdout)) as { checks: Array<{ name: string; ok: boolean; detail: string }> };
    const check = (app: string) => doctor.checks.find((c) => c.name === `rule ${app}`);
    assert.equal(check('guarded')?.ok, true);
    assert.equal(check('missing')?.ok, false);
    assert.match(check('missing')?.detail ?? '', /not-installed: it does not exist: new instances run unprotected until adopted/);
    const tag = `ksguard${lab.suffix}`;
    await launch(tag, 20);
    assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag).viaTunnel === 40, 10_000, 50),
      `40 packets through the tunnel: ${JSON.stringify(tally(await lab.received(), lab, tag))}; ${await daemonView(lab)}`);
    assert.equal(tally(await lab.received(), lab, tag).fromClient, 0, 'not one packet from the client address');
    // Short-lived launches ran their whole life in the staging group; one that stays is moved into its app's group.
    const lingerTag = `kslinger${lab.suffix}`;
    const argv = [...lab.nsenterArgs('client'), program, lingerTag, lab.addr.internet4, '7000', '30'];
    const lingering = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore' });
    started.push(lingering);
    assert.ok(await waitUntil(async () => (await status())?.events.some((e) => e.type === 'app-adopted' && e.app === 'guarded' &&
      /confined at exec, before its first instruction/.test(e.detail ?? '')) ?? false, 10_000, 50), await daemonView(lab));
    lingering.kill('SIGKILL');
    await lingering;

    const stag = `ksscript${lab.suffix}`;
    for (let i = 0; i < 5; i++) await lab.exec('client', [script, stag, lab.addr.internet4, '7000']);
    assert.ok(await waitUntil(async () => tally(await lab.received(), lab, stag).viaTunnel === 5, 10_000, 50), 'the script sends through the tunnel');
    assert.equal(tally(await lab.received(), lab, stag).fromClient, 0);

    // A package upgrade: a new file renamed over the path. The guard follows the path to the new inode.
    await copyFile(program, `${program}.new`);
    await rename(`${program}.new`, program);
    assert.ok(await waitUntil(async () => (await status())?.events.some((e) => e.type === 'exec-guard' && (e.detail ?? '').includes(`${program} was replaced`)) ?? false, 10_000, 50),
      'the daemon guards the new file');
    const tag2 = `ksguardnew${lab.suffix}`;
    await launch(tag2, 20);
    assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag2).viaTunnel === 40, 10_000, 50), JSON.stringify(tally(await lab.received(), lab, tag2)));
    assert.equal(tally(await lab.received(), lab, tag2).fromClient, 0, 'not one packet from the client address after the upgrade');
  } finally {
    daemon.process.kill('SIGTERM');
    await daemon.process;
  }
});

test('an exec waiting while the daemon dies is let go by the kernel; the next daemon confines it at start', async () => {
  let daemon = await startDaemon();
  const daemonPid = daemon.process.pid!;
  // A stopped daemon cannot answer: the exec waits in the kernel.
  process.kill(daemonPid, 'SIGSTOP');
  const tag = `ksdied${lab.suffix}`;
  const argv = [...lab.nsenterArgs('client'), program, tag, lab.addr.internet4, '7000', '60'];
  const waiting = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore' });
  started.push(waiting);
  const pidOf = async (): Promise<number | undefined> => {
    const out = await execa('pgrep', ['-f', `first-packet ${tag}`], { reject: false });
    return String(out.stdout).split('\n').map(Number).find((p) => p > 0);
  };
  assert.ok(await waitUntil(async () => (await pidOf()) !== undefined, 5000, 20), 'the exec is waiting');
  process.kill(daemonPid, 'SIGKILL');
  await daemon.process;
  // The kernel allows the exec once the listener is gone: this is the documented window.
  const pid = (await pidOf())!;
  daemon = await startDaemon();
  try {
    assert.ok(await waitUntil(async () => (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).includes(`/ksapp-t-${lab.suffix}/guarded\n`), 10_000, 50),
      `the next daemon put it in its group: ${await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => 'gone')}`);
  } finally {
    daemon.process.kill('SIGTERM');
    await daemon.process;
    waiting.kill('SIGKILL');
    await waiting;
  }
});

test('ksapp protect --pid with no daemon running starts one and protects the process', async () => {
  const argv = [...lab.nsenterArgs('client'), 'sleep', '60'];
  const sleeper = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore' });
  started.push(sleeper);
  const pid = await waitFor(async () => {
    const out = await execa('pgrep', ['-P', String(sleeper.pid), '-x', 'sleep'], { reject: false });
    return Number(String(out.stdout).trim()) || (String(await readFile(`/proc/${sleeper.pid}/comm`, 'utf8').catch(() => '')).trim() === 'sleep' ? sleeper.pid : undefined);
  });
  assert.ok(pid, 'the sleeper runs');
  assert.equal(await status(), undefined, 'no daemon answers');
  const res = await ksappIn(lab, ['protect', '--config', config, '--pid', String(pid), '--name', 'adopted']);
  assert.equal(res.exitCode, 0, String(res.stderr));
  assert.match(String(res.stdout), /adopted: 1 process\(es\) moved/);
  assert.match(await readFile(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`/ksapp-t-${lab.suffix}/adopted\\n`));
  sleeper.kill('SIGKILL');
  await sleeper;
  assert.ok(await daemonGone(lab, 10_000), 'the daemon leaves once nothing is protected');
});

async function waitFor<T>(read: () => Promise<T | undefined>): Promise<T | undefined> {
  let value: T | undefined;
  await waitUntil(async () => (value = await read()) !== undefined, 5000, 20);
  return value;
}

test('a config broken while the daemon was down: the next daemon runs on the last good one, guards its rules and says so', async () => {
  const good = await readFile(config, 'utf8');
  let daemon = await startDaemon(); // reading the good config keeps a copy of it
  daemon.process.kill('SIGTERM');
  await daemon.process;
  await writeFile(config, `${good}\nthis is: [not yaml\n`);
  try {
    daemon = await startDaemon();
    try {
      const s = (await status())!;
      assert.match(s.config.error ?? '', /running on the last good config/);
      assert.ok(s.events.some((e) => e.type === 'config-error' && /last good config/.test(e.detail ?? '')));
    } finally {
      daemon.process.kill('SIGTERM');
      await daemon.process;
    }
  } finally {
    await writeFile(config, good);
  }
});

test('a unit whose drop-in protects it at every start: confined each time, also when restarted at once', async () => {
  const unit = `ksapp-unitt-${lab.suffix}.service`;
  const group = path.join(await cgroupRoot(), unit);
  // systemd stands aside here: a stand-in systemctl names the unit's group, as `systemctl show` would.
  const systemctl = path.join(lab.dir, 'systemctl');
  await writeFile(systemctl, `#!/bin/sh\nprintf 'LoadState=loaded\\nActiveState=active\\nControlGroup=/${unit}\\n'\n`, { mode: 0o755 });
  const daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config], { env: { KSAPP_SYSTEMCTL: systemctl } });
  started.push(daemon);
  assert.ok(await waitUntil(async () => (await status()) !== undefined, 10_000, 50));
  try {
    for (const round of [1, 2, 3]) {
      await mkdir(group).catch(() => undefined);
      // ExecStartPre: the group exists (the stand-in process would be in it), nothing of the unit runs yet.
      const pre = await ksappIn(lab, ['protect', '--unit', unit, '--name', 'unitapp', '--on-drop', 'freeze']);
      assert.equal(pre.exitCode, 0, `round ${round}: ${String(pre.stderr)}`);
      const tag = `ksunitstart${round}${lab.suffix}`;
      await lab.exec('client', ['sh', '-c', `echo $$ > ${group}/cgroup.procs && exec bash -c 'echo "${tag} 1" > /dev/udp/${lab.addr.internet4}/7000'`]);
      assert.ok(await waitUntil(async () => tally(await lab.received(), lab, tag).viaTunnel === 1, 5000, 50), `round ${round} through the tunnel: ${await daemonView(lab)}`);
      assert.equal(tally(await lab.received(), lab, tag).fromClient, 0, `round ${round}: nothing outside the tunnel`);
      // The unit stops and starts again at once: its group is removed and made anew at the same path.
      await rmdir(group);
    }
  } finally {
    await rmdir(group).catch(() => undefined);
    daemon.kill('SIGTERM');
    await daemon;
  }
});
