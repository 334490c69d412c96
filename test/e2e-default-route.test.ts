// End-to-end in a wg-quick style lab: the tunnel is the client's default route
// (the VPN endpoint is routed around it), so every app uses the tunnel and the
// kill switch matters when something routes around it or the tunnel goes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResultPromise } from 'execa';
import { cgroupRoot } from '../cgroups/index.js';
import { waitUntil } from '../src/demo/wait.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { daemonGone } from './helpers/ksapp.js';
import { cleanupAfterCrash, leakConfig, seenNow, sender, startRun, startUnprotected, tunnelDns, waitSeen } from './helpers/leaks.js';

let lab: Lab;
let root: string;
let config: string;
let other: ResultPromise | undefined;
const T = 40_000;
const utag = (): string => `kdu${lab.suffix}`;
const parentDir = (): string => path.join(root, `ksapp-d-${lab.suffix}`);
const group = (name: string): string => path.join(parentDir(), name);

before(async () => {
  lab = await createLab({ mode: 'default-route' });
  root = await cgroupRoot();
  config = await leakConfig(lab, 'default-route', `ksapp-d-${lab.suffix}`);
  other = startUnprotected(lab, sender('--tag', utag(), '--to', lab.addr.internet4, '--to6', lab.addr.internet6, '--interval', '50'));
});
after(async () => {
  other?.kill('SIGTERM');
  await other;
  if (lab) await daemonGone(lab);
  if (lab) await cleanupAfterCrash(lab, parentDir()); // normally nothing is left; after a failure, the groups are global
  await lab?.destroy();
});

async function assertNoLeak(tag: string, from: number): Promise<void> {
  await sleep(300);
  const s = await seenNow(lab, tag, from);
  assert.equal(s.leaked, 0, `protected packets reached the internet host outside the tunnel: ${JSON.stringify(s)}`);
  assert.equal(s.ispDns, 0, 'protected DNS queries reached the ISP resolver');
}

const i4 = (): string => lab.addr.internet4;
const i6 = (): string => lab.addr.internet6;

test('tunnel as default route: protected and unprotected traffic both go through it, DNS to the tunnel resolver', { timeout: T }, async () => {
  const tag = `kdp${lab.suffix}`;
  const t0 = Date.now();
  const run = startRun(lab, { config, name: 'dflt', groupDir: group('dflt'), command: sender('--tag', tag, '--to', i4(), '--to6', i6(), '--dns', `${tag}.test`, '--interval', '30') });
  try {
    assert.ok(await waitSeen(lab, tag, (s) => ['udp', 'tcp', 'udp6', 'tcp6'].every((p) => (s.tunnelBy[p] ?? 0) >= 3), 10_000, t0),
      `protected traffic through the tunnel: ${JSON.stringify((await seenNow(lab, tag, t0)).tunnelBy)}`);
    assert.ok(await waitUntil(async () => (await tunnelDns(lab, tag, t0)) >= 3, 5000, 50), "lookups reached the tunnel's resolver");
    const u = await seenNow(lab, utag(), t0);
    assert.ok(u.tunnel4 > 0 && u.tunnel6 > 0, 'the unprotected app uses the tunnel too (it is the default route)');
  } finally {
    await run.stop();
  }
  await assertNoLeak(tag, t0);
});

test('default-route mode, a more specific route around the tunnel: the unprotected app takes it, the protected one does not', { timeout: T }, async () => {
  const tag = `kdr${lab.suffix}`;
  const t0 = Date.now();
  const run = startRun(lab, { config, name: 'around', groupDir: group('around'), command: sender('--tag', tag, '--to', i4(), '--to6', i6(), '--interval', '30') });
  try {
    assert.ok(await waitSeen(lab, tag, (s) => s.tunnel4 > 0 && s.tunnel6 > 0, 10_000, t0));
    await lab.faults.addRouteAround(i4(), i6());
    const t1 = Date.now();
    try {
      assert.ok(await waitSeen(lab, tag, (s) => s.tunnel4 >= 10 && s.tunnel6 >= 10, 10_000, t1), 'protected traffic stays in the tunnel');
      // The control: the same route does carry the unprotected app's packets out directly.
      assert.ok(await waitSeen(lab, utag(), (s) => s.client4 > 0 && s.client6 > 0, 5000, t1), `the unprotected app took the route around the tunnel: ${JSON.stringify(await seenNow(lab, utag(), t1))}`);
    } finally {
      await lab.faults.removeRouteAround();
    }
  } finally {
    await run.stop();
  }
  await assertNoLeak(tag, t0);
});

test('default-route mode, tunnel deleted (then a route around it added): no protected packet or DNS query leaves, and traffic resumes', { timeout: T }, async () => {
  const tag = `kdx${lab.suffix}`;
  const t0 = Date.now();
  // on-drop block keeps the app sending through the outage; the firewall alone stops it.
  const run = startRun(lab, {
    config, name: 'outage', groupDir: group('outage'), flags: ['--on-drop', 'block'],
    command: sender('--tag', tag, '--to', i4(), '--to6', i6(), '--dns', `${tag}.test`, '--interval', '30'),
  });
  let t2 = 0;
  try {
    assert.ok(await waitSeen(lab, tag, (s) => s.tunnel4 > 0 && s.tunnel6 > 0, 10_000, t0));
    await lab.faults.deleteTunnel();
    try {
      // With the tunnel gone the client has no default route at all: the unprotected app loses
      // connectivity too in this mode (expected). Half-way, a host route to the internet host
      // appears (a user "fixing" connectivity): now a path outside exists, and the unprotected
      // app takes it — the protected one still must not.
      await sleep(700);
      await lab.faults.addRouteAround(i4(), i6());
      const t1 = Date.now();
      assert.ok(await waitSeen(lab, utag(), (s) => s.client4 > 0 && s.client6 > 0, 5000, t1), 'the unprotected app got out by the new route');
      await sleep(700);
    } finally {
      await lab.faults.removeRouteAround();
      await lab.faults.restoreTunnel();
      t2 = Date.now();
    }
    assert.ok(await waitSeen(lab, tag, (s) => s.tunnel4 > 0 && s.tunnel6 > 0, 10_000, t2), 'traffic resumed through the tunnel');
  } finally {
    await run.stop();
  }
  await assertNoLeak(tag, t0);
});
