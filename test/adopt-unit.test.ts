// --unit and --cgroup: systemctl's answer (a fake systemctl) and path validation (a fake cgroup tree in a temp dir).
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { AdoptError, parseShow, resolveCgroupPath, unitCgroup } from '../src/adopt/index.js';

let dir: string;
let root: string;
let systemctl: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ksapp-adopt-unit-'));
  root = path.join(dir, 'cgroup');
  for (const g of ['', 'system.slice/qbittorrent-nox.service', 'ksapp/app', 'docker/abc']) {
    await mkdir(path.join(root, g), { recursive: true });
    await writeFile(path.join(root, g, 'cgroup.procs'), '');
  }
  systemctl = path.join(dir, 'systemctl');
  // A stand-in for systemctl show: one running unit, one stopped, everything else not found.
  await writeFile(systemctl, `#!/bin/sh
[ -n "$FAKE_FAIL" ] && { echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2; exit 1; }
for last; do :; done
case "$last" in
  qbittorrent-nox.service) printf 'LoadState=loaded\\nActiveState=active\\nControlGroup=/system.slice/qbittorrent-nox.service\\n' ;;
  stopped.service) printf 'LoadState=loaded\\nActiveState=inactive\\nControlGroup=\\n' ;;
  root.slice) printf 'LoadState=loaded\\nActiveState=active\\nControlGroup=/\\n' ;;
  gone.service) printf 'LoadState=loaded\\nActiveState=active\\nControlGroup=/system.slice/gone.service\\n' ;;
  *) printf 'LoadState=not-found\\nActiveState=inactive\\nControlGroup=\\n' ;;
esac
`);
  await chmod(systemctl, 0o755);
});
after(() => rm(dir, { recursive: true, force: true }));

const code = (c: string, exitCode: 1 | 2 = 2) => (e: unknown) => e instanceof AdoptError && e.code === c && e.exitCode === exitCode;

test('parseShow reads Key=value lines, values may hold "="', () => {
  assert.deepEqual([...parseShow('LoadState=loaded\nControlGroup=/a=b\n\n')], [['LoadState', 'loaded'], ['ControlGroup', '/a=b']]);
});

test("unitCgroup: a running unit's ControlGroup under the cgroup2 mount", async () => {
  assert.equal(await unitCgroup('qbittorrent-nox.service', { systemctl, root }), path.join(root, 'system.slice/qbittorrent-nox.service'));
});

test('unitCgroup: not loaded, not running, cgroup gone, bad name, no systemctl, systemctl failing', async () => {
  await assert.rejects(unitCgroup('nosuch.service', { systemctl, root }), code('ADOPT_UNIT_NOT_LOADED'));
  await assert.rejects(unitCgroup('stopped.service', { systemctl, root }), code('ADOPT_UNIT_NOT_RUNNING'));
  await assert.rejects(unitCgroup('gone.service', { systemctl, root }), code('ADOPT_CGROUP_NOT_FOUND'));
  await assert.rejects(unitCgroup('root.slice', { systemctl, root }), code('ADOPT_CGROUP_ROOT'), 'ControlGroup=/ is the whole system');
  await assert.rejects(unitCgroup('-.slice', { systemctl, root }), code('ADOPT_BAD_UNIT'), 'a leading dash is refused before systemctl runs');
  await assert.rejects(unitCgroup('--all', { systemctl, root }), code('ADOPT_BAD_UNIT'));
  await assert.rejects(unitCgroup('a b', { systemctl, root }), code('ADOPT_BAD_UNIT'));
  await assert.rejects(unitCgroup('x.service', { systemctl: path.join(dir, 'no-systemctl'), root }), code('ADOPT_NO_SYSTEMCTL'));
  process.env.FAKE_FAIL = '1';
  try {
    await assert.rejects(unitCgroup('x.service', { systemctl, root }), (e) => code('ADOPT_SYSTEMCTL_FAILED', 1)(e) && /booted with systemd/.test(String((e as Error).cause)));
  } finally {
    delete process.env.FAKE_FAIL;
  }
});

test('resolveCgroupPath: absolute inside the mount or relative to it', () => {
  const opts = { root, ksappParent: path.join(root, 'ksapp') };
  assert.equal(resolveCgroupPath(path.join(root, 'docker/abc'), opts), path.join(root, 'docker/abc'));
  assert.equal(resolveCgroupPath(path.join(root, 'docker/abc/'), opts), path.join(root, 'docker/abc'));
  assert.equal(resolveCgroupPath('docker/abc', opts), path.join(root, 'docker/abc'));
  assert.equal(resolveCgroupPath('./docker//abc', opts), path.join(root, 'docker/abc'));
});

test('resolveCgroupPath refuses "..", paths outside the mount, missing groups, the root and ksapp\'s own groups', () => {
  const opts = { root, ksappParent: path.join(root, 'ksapp') };
  assert.throws(() => resolveCgroupPath('docker/../ksapp', opts), code('ADOPT_BAD_CGROUP_PATH'));
  assert.throws(() => resolveCgroupPath(`${root}/../cgroup/docker/abc`, opts), code('ADOPT_BAD_CGROUP_PATH'));
  assert.throws(() => resolveCgroupPath('..', opts), code('ADOPT_BAD_CGROUP_PATH'));
  assert.throws(() => resolveCgroupPath('/etc', opts), (e) => code('ADOPT_BAD_CGROUP_PATH')(e) && /outside the cgroup2 mount/.test((e as Error).message));
  assert.throws(() => resolveCgroupPath('/system.slice/x', opts), (e) => code('ADOPT_BAD_CGROUP_PATH')(e) && (e as AdoptError).hint.includes('system.slice/x'));
  assert.throws(() => resolveCgroupPath('', opts), code('ADOPT_BAD_CGROUP_PATH'));
  assert.throws(() => resolveCgroupPath('docker/missing', opts), code('ADOPT_CGROUP_NOT_FOUND'));
  assert.throws(() => resolveCgroupPath(root, opts), code('ADOPT_CGROUP_ROOT'));
  assert.throws(() => resolveCgroupPath('.', opts), code('ADOPT_CGROUP_ROOT'));
  assert.throws(() => resolveCgroupPath('ksapp', opts), code('ADOPT_CGROUP_KSAPP'));
  assert.throws(() => resolveCgroupPath('ksapp/app', opts), code('ADOPT_CGROUP_KSAPP'));
  assert.equal(resolveCgroupPath('ksapp/app', { root }), path.join(root, 'ksapp/app'), 'only when ksapp\'s parent is named');
});
