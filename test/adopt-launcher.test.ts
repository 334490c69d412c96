// install-launcher: desktop entries rewritten to start through `ksapp run`, on literal files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdoptError, desktopSearchDirs, isWrapped, launcherTarget, parseExec, pickDesktopFile, quoteExecArg, rewriteDesktopEntry } from '../src/adopt/index.js';

const QBT = `[Desktop Entry]
Categories=Network;FileTransfer;P2P;Qt;
Exec=qbittorrent %U
GenericName=BitTorrent client
Icon=qbittorrent
MimeType=application/x-bittorrent;x-scheme-handler/magnet;
Name=qBittorrent
TryExec=qbittorrent
Type=Application
Actions=safe;

[Desktop Action safe]
Name=Safe mode
Exec = "/opt/My Apps/qbittorrent" --safe-mode --title="100%% \\\\"sure\\\\"" %f
`;

test('every Exec= line is wrapped, field codes and quoting kept; TryExec and the rest untouched', () => {
  const r = rewriteDesktopEntry(QBT, 'qbittorrent');
  assert.equal(r.wrapped, 2);
  assert.deepEqual(r.warnings, []);
  const lines = r.text.split('\n');
  assert.ok(lines.includes('Exec=ksapp run --name qbittorrent -- qbittorrent %U'));
  assert.ok(lines.includes('Exec = ksapp run --name qbittorrent -- "/opt/My Apps/qbittorrent" --safe-mode --title="100%% \\\\"sure\\\\"" %f'));
  assert.ok(lines.includes('TryExec=qbittorrent'));
  const before = QBT.split('\n');
  assert.deepEqual(lines.filter((l) => !/^Exec/.test(l)), before.filter((l) => !/^Exec/.test(l)));
});

test('the rewrite is idempotent: a wrapped entry is not wrapped twice', () => {
  const once = rewriteDesktopEntry(QBT, 'qbittorrent');
  const twice = rewriteDesktopEntry(once.text, 'qbittorrent');
  assert.equal(twice.wrapped, 0);
  assert.equal(twice.text, once.text);
  const abs = rewriteDesktopEntry(QBT, 'qbittorrent', { ksapp: '/usr/local/bin/ksapp' });
  assert.equal(rewriteDesktopEntry(abs.text, 'qbittorrent').wrapped, 0, 'a path to ksapp counts too');
});

test('parseExec follows the spec: string escapes first, then quotes; field codes stay as written', () => {
  assert.deepEqual(parseExec('qbittorrent %U'), ['qbittorrent', '%U']);
  assert.deepEqual(parseExec('"/opt/My Apps/qb" --title="100%% \\\\"sure\\\\"" %f'), ['/opt/My Apps/qb', '--title=100%% "sure"', '%f']);
  assert.deepEqual(parseExec('env\\sA=1 app'), ['env', 'A=1', 'app'], '\\s is a space');
  assert.equal(isWrapped('ksapp run --name x -- app'), true);
  assert.equal(isWrapped('"/usr/local/bin/ksapp" run -- app'), true);
  assert.equal(isWrapped('ksapp-helper run'), false);
});

test('quoteExecArg: plain words stay bare; reserved characters are quoted and escaped twice; % doubled', () => {
  assert.equal(quoteExecArg('ksapp'), 'ksapp');
  assert.equal(quoteExecArg('/opt/My Apps/ksapp'), '"/opt/My Apps/ksapp"');
  assert.equal(quoteExecArg('a$b'), '"a\\\\$b"');
  assert.equal(quoteExecArg('50%'), '50%%');
  assert.deepEqual(parseExec(quoteExecArg('/opt/My Apps/$x"y')), ['/opt/My Apps/$x"y']);
  const r = rewriteDesktopEntry('[Desktop Entry]\nExec=app\n', 'a', { ksapp: '/opt/k s/ksapp' });
  assert.deepEqual(parseExec(r.text.split('\n')[1]!.slice('Exec='.length)), ['/opt/k s/ksapp', 'run', '--name', 'a', '--', 'app']);
});

test('CRLF lines keep their ending; DBusActivatable is reported; bad input is a typed error', () => {
  const r = rewriteDesktopEntry('[Desktop Entry]\r\nDBusActivatable=true\r\nExec=app --x\r\n', 'app');
  assert.equal(r.text, '[Desktop Entry]\r\nDBusActivatable=true\r\nExec=ksapp run --name app -- app --x\r\n');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /D-Bus/);
  const noExec = (() => { try { rewriteDesktopEntry('[Desktop Entry]\nName=x\n', 'x'); } catch (e) { return e; } })();
  assert.ok(noExec instanceof AdoptError && noExec.code === 'ADOPT_NO_EXEC' && noExec.exitCode === 2);
  assert.throws(() => rewriteDesktopEntry(QBT, 'bad name; rm'), (e) => e instanceof AdoptError && e.code === 'ADOPT_BAD_NAME' && e.exitCode === 2);
  assert.equal(rewriteDesktopEntry('[Desktop Entry]\nExec[de]=x\nExec=app\n', 'app').text, '[Desktop Entry]\nExec[de]=x\nExec=ksapp run --name app -- app\n');
});

test('target, search folders and picking the entry', () => {
  assert.equal(launcherTarget('/usr/share/applications/org.qbittorrent.qBittorrent.desktop', '/home/alice'),
    '/home/alice/.local/share/applications/org.qbittorrent.qBittorrent.desktop');
  assert.equal(launcherTarget('/usr/share/applications/a.desktop', '/home/alice', { XDG_DATA_HOME: '/data' }), '/data/applications/a.desktop');
  assert.equal(launcherTarget('/usr/share/applications/a.desktop', '/home/alice', { XDG_DATA_HOME: 'rel' }), '/home/alice/.local/share/applications/a.desktop');
  assert.deepEqual(desktopSearchDirs('/home/alice'), ['/home/alice/.local/share/applications', '/usr/local/share/applications', '/usr/share/applications']);
  assert.deepEqual(desktopSearchDirs('/h', { XDG_DATA_DIRS: '/var/lib/flatpak/exports/share:rel:/usr/share' }), ['/h/.local/share/applications', '/var/lib/flatpak/exports/share/applications', '/usr/share/applications']);
  const files = ['firefox.desktop', 'org.qbittorrent.qBittorrent.desktop', 'Mousepad.desktop', 'a.x.desktop', 'b.x.desktop'];
  assert.equal(pickDesktopFile('firefox', files), 'firefox.desktop');
  assert.equal(pickDesktopFile('mousepad', files), 'Mousepad.desktop');
  assert.equal(pickDesktopFile('qbittorrent', files), 'org.qbittorrent.qBittorrent.desktop');
  assert.equal(pickDesktopFile('x', files), undefined, 'ambiguous');
  assert.equal(pickDesktopFile('nothing', files), undefined);
});
