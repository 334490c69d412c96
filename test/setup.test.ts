// `ksapp setup`: the unit, the notification agent's autostart entry and a commented config,
// idempotent, a dry run that writes nothing, an edited config never replaced, a broken one refused;
// systemd-analyze verify accepts the unit as written, desktop-file-validate the autostart entry.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { parseExec } from '../src/adopt/launcher.js';
import { parseConfig } from '../src/config/index.js';
import { CONFIG_TEMPLATE } from '../src/setup/units.js';

const CLI = path.resolve('dist/src/cli.js');
let root: string;
before(async () => { root = await mkdtemp(path.join(tmpdir(), 'ksapp-setup-')); });
after(async () => { await rm(root, { recursive: true, force: true }); });

const setup = (args: string[] = []) => execa(process.execPath, [CLI, 'setup', ...args], { reject: false, env: { KSAPP_SETUP_ROOT: root } });
const unit = (): string => path.join(root, 'etc/systemd/system/ksapp.service');
const config = (): string => path.join(root, 'etc/ksapp/config.yaml');
const autostart = (): string => path.join(root, 'etc/xdg/autostart/ksapp-notify.desktop');

test('the commented config is a valid config that protects nothing until edited', () => {
  const c = parseConfig(CONFIG_TEMPLATE, 'template');
  assert.deepEqual(c.apps, []);
});

test('--dry-run prints what it would write and writes nothing', async () => {
  const r = await setup(['--dry-run']);
  assert.equal(r.exitCode, 0, String(r.stderr));
  assert.match(String(r.stdout), /would write .*ksapp\.service:[\s\S]*Before=network-pre\.target/);
  assert.match(String(r.stdout), /would write .*etc\/xdg\/autostart\/ksapp-notify\.desktop:\n[\s\S]*^Exec=\S+ \S+ notify$/m);
  assert.equal(existsSync(unit()), false);
  assert.equal(existsSync(autostart()), false);
  assert.equal(existsSync(config()), false);
});

test('setup writes the unit and the config once; again, nothing changes; an edited config is kept', async () => {
  const first = await setup();
  assert.equal(first.exitCode, 0, String(first.stderr));
  assert.match(String(first.stdout), /ksapp\.service: written[\s\S]*ksapp-notify\.desktop: written[\s\S]*config\.yaml: written/);
  assert.match(String(first.stdout), /desktop notifications start at the next login/);
  const text = await readFile(unit(), 'utf8');
  assert.match(text, /^Type=forking$/m);
  assert.match(text, /^DefaultDependencies=no$/m);
  assert.match(text, new RegExp(`^ExecStart=${process.execPath} \\S+/dist/src/cli\\.js daemon --config /etc/ksapp/config\\.yaml$`, 'm'));
  const again = await setup();
  assert.match(String(again.stdout), /ksapp\.service: unchanged[\s\S]*ksapp-notify\.desktop: unchanged[\s\S]*config\.yaml: unchanged/);
  await writeFile(config(), 'dns: { servers: [10.66.0.1] }\n');
  const kept = await setup();
  assert.match(String(kept.stdout), /config\.yaml: kept \(yours\)/);
  assert.equal(await readFile(config(), 'utf8'), 'dns: { servers: [10.66.0.1] }\n');
});

test('a broken config is refused before anything is installed', async () => {
  await writeFile(config(), 'apps:\n  - name: ..\n');
  const r = await setup();
  assert.equal(r.exitCode, 2, String(r.stdout));
  assert.match(String(r.stderr), /config\.yaml:2:\d+: apps\[0\]\.name must not be "\." or "\.\."/);
  await rm(config());
});

test('systemd-analyze verify accepts the unit', async () => {
  await setup();
  const r = await execa('systemd-analyze', ['verify', unit()], { reject: false });
  assert.equal(r.exitCode, 0, `${String(r.stdout)}${String(r.stderr)}`);
  assert.equal(String(r.stderr).trim(), '', 'no warnings');
});

test('the autostart entry starts `ksapp notify` at login, hidden from menus; desktop-file-validate accepts it', async (t) => {
  await setup();
  const text = await readFile(autostart(), 'utf8');
  const exec = /^Exec=(.*)$/m.exec(text)![1]!;
  assert.deepEqual(parseExec(exec), [process.execPath, CLI, 'notify']);
  for (const line of ['Type=Application', 'NoDisplay=true', 'Terminal=false']) assert.ok(text.split('\n').includes(line), line);
  const v = await execa('desktop-file-validate', [autostart()], { reject: false });
  if (v.exitCode === undefined || (v.failed && /ENOENT/.test(String(v.message)))) return t.skip('desktop-file-validate is not installed (Debian: desktop-file-utils)');
  assert.equal(v.exitCode, 0, `${String(v.stdout)}${String(v.stderr)}`);
  assert.equal(`${String(v.stdout)}${String(v.stderr)}`.trim(), '', 'no hints or warnings');
});

test('a config unit rule gets a drop-in that protects the unit before it starts; systemd-analyze accepts unit and drop-in', async () => {
  await writeFile(config(), 'apps:\n  - name: dl\n    match: { unit: ksapp-demo-dl.service }\n    onDrop: kill\n');
  const dir = path.join(root, 'etc/systemd/system');
  await writeFile(path.join(dir, 'ksapp-demo-dl.service'), '[Unit]\nDescription=a download daemon\n[Service]\nExecStart=/bin/sleep 1000\n');
  const r = await setup();
  assert.equal(r.exitCode, 0, String(r.stderr));
  assert.match(String(r.stdout), /ksapp-demo-dl\.service\.d\/ksapp\.conf: written[\s\S]*restart ksapp-demo-dl\.service to start confined/);
  const dropIn = await readFile(path.join(dir, 'ksapp-demo-dl.service.d/ksapp.conf'), 'utf8');
  assert.match(dropIn, /^Requires=ksapp\.service$/m);
  assert.match(dropIn, /^ExecStartPre=\+\S+ \S+ --config \/etc\/ksapp\/config\.yaml protect --unit %n --name dl --on-drop kill$/m);
  const v = await execa('systemd-analyze', ['verify', path.join(dir, 'ksapp-demo-dl.service')], { reject: false, env: { SYSTEMD_UNIT_PATH: `${dir}:` } });
  assert.equal(v.exitCode, 0, `${String(v.stdout)}${String(v.stderr)}`);
  assert.equal(String(v.stderr).trim(), '', 'the drop-in is read and raises no warning');
  await rm(config());
});
