import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';

const CLI = path.resolve('dist/src/cli.js');

test('install-launcher wraps the menu entry in ksapp run, in the user’s own folder, idempotently', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ksapp-launcher-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const system = path.join(dir, 'share');
  await mkdir(path.join(system, 'applications'), { recursive: true });
  await writeFile(path.join(system, 'applications', 'org.qbittorrent.qBittorrent.desktop'),
    '[Desktop Entry]\nName=qBittorrent\nTryExec=qbittorrent\nExec=qbittorrent %U\n');
  const env = { HOME: path.join(dir, 'home'), XDG_DATA_DIRS: system, XDG_DATA_HOME: '', SUDO_USER: '' };
  const first = await execa(process.execPath, [CLI, 'install-launcher', 'qbittorrent'], { env, reject: false });
  assert.equal(first.exitCode, 0, String(first.stderr));
  const target = path.join(dir, 'home/.local/share/applications/org.qbittorrent.qBittorrent.desktop');
  const text = await readFile(target, 'utf8');
  assert.match(text, new RegExp(`^Exec=${CLI.replace(/[/.]/g, '\\$&')} run --name qbittorrent -- qbittorrent %U$`, 'm'));
  assert.match(text, /^TryExec=qbittorrent$/m);
  const again = await execa(process.execPath, [CLI, 'install-launcher', 'qbittorrent', '--desktop', target], { env, reject: false });
  assert.match(String(again.stdout), /already starts through ksapp/);
  const missing = await execa(process.execPath, [CLI, 'install-launcher', 'nosuchapp'], { env, reject: false });
  assert.equal(missing.exitCode, 2);
  assert.match(String(missing.stderr), /no desktop entry found for "nosuchapp"/);
});
