// Allowlists: a range the config allows is reached directly (replies too: TCP works), also while the
// tunnel is down under `block`; DNS to it still goes to the tunnel's resolver; IPv6 not listed stays in the
// tunnel. An unprotected sender is the positive control.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import { createLab, fixturePath, type Lab } from '../src/lab/index.js';
import { ksappIn, removeTestGroups } from './helpers/ksapp.js';
import { appIn, seenIn, statusIn, tagIn } from './helpers/lab-view.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
let lab: Lab;
const children: Array<ReturnType<typeof ksappIn>> = [];
let daemon: ReturnType<typeof ksappIn> | undefined;

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon;
  if (lab) {
    await removeTestGroups(lab);
    await lab.destroy();
  }
});

test('allow: the listed range directly (TCP replies too), also while blocked; its DNS and unlisted IPv6 through the tunnel', { skip, timeout: 60_000 }, async () => {
  const config = path.join(lab.dir, 'allow.yaml');
  await writeFile(config, ['tunnel:', `  interface: ${lab.tunnel.clientIface}`, `  probe: { address: ${lab.tunnel.server4}, interval: 300ms, failures: 3 }`,
    `dns: { servers: [${lab.tunnel.server4}] }`, `cgroupParent: ksapp-t-${lab.suffix}`, `allow: [${lab.addr.internet4}/32]`, ''].join('\n'));
  daemon = ksappIn(lab, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await statusIn(lab).catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), 'daemon up');
  const tag = tagIn(lab, 'al');
  children.push(ksappIn(lab, ['run', '--name', 'al', '--on-drop', 'block', '--', process.execPath, fixturePath('sender.mjs'), '--tag', tag,
    '--to', lab.addr.internet4, '--to6', lab.addr.internet6, '--dns', `${tag}.test`, '--resolver', lab.addr.internet4, '--interval', '30']));
  const direct4 = async (from: number): Promise<{ udp: number; tcp: number; v6Direct: number; v6Tunnel: number }> => {
    const recs = (await lab.received()).filter((r) => r.t >= from && r.tag.includes(tag) && r.proto !== 'dns');
    return {
      udp: recs.filter((r) => r.proto === 'udp' && r.src === lab.addr.client4).length,
      tcp: recs.filter((r) => r.proto === 'tcp' && r.src === lab.addr.client4).length,
      v6Direct: recs.filter((r) => r.src === lab.addr.client6).length,
      v6Tunnel: recs.filter((r) => r.src === lab.addr.vpnPublic6).length,
    };
  };
  assert.ok(await waitUntil(async () => { const d = await direct4(0); return d.udp > 0 && d.tcp > 0 && d.v6Tunnel > 0; }, 10_000, 100), JSON.stringify(await direct4(0)));
  assert.deepEqual((await appIn(lab, 'al'))?.allow, [`${lab.addr.internet4}/32`], 'status says what it may reach directly');
  assert.equal((await direct4(0)).v6Direct, 0, 'IPv6 was not listed: never direct');
  assert.equal((await seenIn(lab, 'al')).ispDns, 0, 'its DNS to the allowed address still went to the tunnel\'s resolver');
  assert.ok((await lab.tunnelDnsQueries()).some((q) => q.tag.includes(tag)), 'answered by the tunnel\'s resolver');
  // The tunnel goes: the app is blocked, yet still reaches the allowed range; nothing else leaves.
  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await appIn(lab, 'al'))?.state === 'blocked', 10_000, 50), 'blocked');
    const t0 = Date.now();
    assert.ok(await waitUntil(async () => (await direct4(t0)).udp > 0, 5000, 100), 'the allowed range still reached while blocked');
    assert.equal((await direct4(t0)).v6Direct, 0, 'no IPv6 leaves while blocked');
    assert.equal((await seenIn(lab, 'al', t0)).ispDns, 0, 'no DNS leaves while blocked');
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
});
