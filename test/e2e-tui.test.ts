// The dashboard against a real daemon with two real protected apps, driven through tmux.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { CLI_PATH } from '../src/demo/ksapp-process.js';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import { createLab, fixturePath, type Lab } from '../src/lab/index.js';
import { ksappIn, labSocket, removeTestGroups } from './helpers/ksapp.js';

let lab: Lab;
let session: string;
const children: Array<ReturnType<typeof ksappIn>> = [];

const screen = async (): Promise<string> => String((await execa('tmux', ['capture-pane', '-p', '-t', session], { reject: false })).stdout);
const key = async (k: string): Promise<void> => {
  await execa('tmux', ['send-keys', '-t', session, k]);
  await sleep(150);
};

before(async () => {
  lab = await createLab({ mode: 'app-only' });
  session = `ksapp-tui-${lab.suffix}`;
  const config = path.join(lab.dir, 'tui.yaml');
  await writeFile(config, `tunnel:\n  interface: ${lab.tunnel.clientIface}\ncgroupParent: ksapp-t-${lab.suffix}\n`);
  for (const name of ['alpha', 'beta']) {
    children.push(ksappIn(lab, ['run', '--config', config, '--name', name, '--', process.execPath, fixturePath('sender.mjs'),
      '--tag', `ks${name}${lab.suffix}`, '--to', lab.addr.internet4, '--interval', '50']));
  }
  const status = async () => JSON.parse(String((await ksappIn(lab, ['status', '--json'])).stdout || '{}')) as { apps?: unknown[] };
  assert.ok(await waitUntil(async () => (await status()).apps?.length === 2, 10_000, 100), 'two apps protected');
  const env = Object.entries({ KSAPP_SOCKET: labSocket(lab), TERM: 'xterm-256color' }).map(([k, v]) => `${k}=${v}`);
  // CI must be unset for the dashboard: Ink draws only at exit when it is set.
  await execa('tmux', ['new-session', '-d', '-s', session, '-x', '100', '-y', '30', 'env', '-u', 'CI', ...env, process.execPath, CLI_PATH, 'tui']);
});
after(async () => {
  await execa('tmux', ['kill-session', '-t', session], { reject: false });
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children);
  if (lab) await removeTestGroups(lab);
  await lab?.destroy();
});

test('the dashboard shows both apps running and the tunnel up, then DOWN and frozen, then a confirmed kill', async () => {
  assert.ok(await waitUntil(async () => /UP/.test(await screen()) && /alpha\s+● running/.test(await screen()) && /beta\s+● running/.test(await screen()), 10_000, 100), await screen());
  await faultById('tunnel-deleted').inject(lab);
  try {
    const shown = await waitUntil(async () => {
      const s = await screen();
      return /DOWN/.test(s) && /alpha\s+‖ frozen/.test(s) && /beta\s+‖ frozen/.test(s);
    }, 1500, 50);
    assert.ok(shown, `within a second and a half the screen shows DOWN and both frozen:\n${await screen()}`);
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
  assert.ok(await waitUntil(async () => /UP/.test(await screen()) && /alpha\s+● running/.test(await screen()), 10_000, 100), await screen());
  // k asks about the selected row, y confirms.
  const selected = /› (\S+)/.exec(await screen())?.[1];
  assert.ok(selected === 'alpha' || selected === 'beta', await screen());
  const other = selected === 'alpha' ? 'beta' : 'alpha';
  await key('k');
  assert.ok(await waitUntil(async () => /\by\/n\b|\(y\/N\)|confirm/i.test(await screen()), 3000, 50), await screen());
  await key('y');
  const table = async (): Promise<string> => (await screen()).split('── events')[0] ?? '';
  assert.ok(await waitUntil(async () => new RegExp(`${selected}\\s+(✗ killed|○ exited)`).test(await table()) || !(await table()).includes(selected), 5000, 100), await screen());
  assert.match(await table(), new RegExp(`${other}\\s+● running`));
  const killedEvent = new RegExp(`killed\\s+${selected}: by request`);
  assert.ok(await waitUntil(async () => killedEvent.test(await screen()), 3000, 100), `the event log shows the kill:\n${await screen()}`);
  await key('q');
});
