// `ksapp protect --container` against a real Docker container (Debian's dockerd with its own containerd,
// isolated in the lab's client namespace and a private mount namespace): ksapp finds it through the
// docker CLI alone (podman is absent); its TCP over both families and its DNS (to Docker's embedded
// resolver and to a hard-coded one) then leave only through the tunnel, and when the tunnel is deleted
// the container is frozen and nothing of it leaves by the client's own address.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import { dockerAvailable, dockerWrapper, runDockerContainer, startDocker, type DockerContainer, type DockerEnv } from '../src/lab/docker.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { busyboxRootfs } from '../src/lab/podman.js';
import { ofTag, senderLoop } from './helpers/container-sender.js';
import { daemonView, ksappIn, labConfig, removeTestGroups } from './helpers/ksapp.js';
import { appIn, statusIn } from './helpers/lab-view.js';

const reason = process.getuid?.() !== 0 ? 'needs root' : await dockerAvailable();
const skip = reason ?? false;
let lab: Lab | undefined;
let env: DockerEnv | undefined;
let daemon: ReturnType<typeof ksappIn> | undefined;
let wrapper = '';

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
  env = await startDocker({ netns: lab.ns.client, suffix: lab.suffix, dir: lab.dir, dns: [lab.addr.internet4] });
  wrapper = await dockerWrapper(env);
});
after(async () => {
  daemon?.kill('SIGTERM');
  await daemon;
  await env?.stop();
  if (lab) {
    await removeTestGroups(lab);
    await lab.destroy();
  }
});


test('protect --container finds a Docker container through its CLI; its TCP only through the tunnel, frozen when the tunnel is deleted', { skip, timeout: 120_000 }, async () => {
  const l = lab!;
  const rootfs = await busyboxRootfs(path.join(l.dir, 'rootfs'));
  const tag = `kd${l.suffix}`;
  const guarded: DockerContainer = await runDockerContainer(env!, { name: 'guarded', rootfs, cmd: ['/bin/sh', '-c', senderLoop(tag, l, { dns: true })] });
  assert.equal(guarded.bridge, env!.bridge, 'the container is on the env\'s own bridge in the lab namespace');
  // Before: it leaves by the client's address (Docker's masquerade): a leak would show.
  assert.ok(await waitUntil(async () => ofTag(await l.received(), tag).some((r) => l.origin(r.src) === 'client' && r.proto === 'dns'), 15_000, 200),
    `seen unprotected first; the container said: ${await env!.docker(['logs', '--tail', '5', guarded.name]).catch((e: Error) => e.message)}`);

  const config = await labConfig(l, 'docker', { probe: true });
  const runtimes = { env: { KSAPP_DOCKER: wrapper, KSAPP_PODMAN: '/nonexistent/podman' } };
  daemon = ksappIn(l, ['daemon', '--foreground', '--config', config], runtimes);
  assert.ok(await waitUntil(async () => (await statusIn(l).catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), `daemon up: ${await daemonView(l)}`);

  const protect = await ksappIn(l, ['protect', '--container', guarded.name, '--name', 'guarded'], runtimes);
  assert.equal(protect.exitCode, 0, String(protect.stderr));
  assert.match(String(protect.stdout), new RegExp(`docker container ${guarded.name}: ${guarded.addresses.v4!.replaceAll('.', '\\.')}/32, .* on ${env!.bridge}`));
  const t0 = Date.now() + 500; // a connection already in flight may finish its way
  const app = await appIn(l, 'guarded');
  assert.equal(app?.container?.id, guarded.id);
  assert.equal(app?.cgroup, guarded.cgroupPath);

  const seen = async (from: number) => {
    const internet = ofTag(await l.received(), tag, from);
    return {
      tcp4: internet.filter((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic4).length,
      tcp6: internet.filter((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic6).length,
      embedded: ofTag(await l.tunnelDnsQueries(), `${tag}-dns.test`, from).length,
      hard: ofTag(await l.tunnelDnsQueries(), `${tag}-hard.test`, from).length,
      leaked: internet.filter((r) => l.origin(r.src) !== 'tunnel').map((r) => `${r.proto} ${r.src} ${JSON.stringify(r.tag.slice(0, 24))}`).slice(0, 8),
    };
  };
  assert.ok(await waitUntil(async () => { const s = await seen(t0); return s.tcp4 > 0 && s.tcp6 > 0 && s.embedded > 0 && s.hard > 0; }, 15_000, 200), `${JSON.stringify(await seen(t0))}: ${await daemonView(l)}`);
  assert.deepEqual((await seen(t0)).leaked, [], 'nothing by the client\'s address');

  const fault = faultById('tunnel-deleted');
  await fault.inject(l);
  try {
    assert.ok(await waitUntil(async () => (await appIn(l, 'guarded'))?.state === 'frozen', 15_000, 100), `frozen: ${await daemonView(l)}`);
    assert.match(await readFile(path.join(guarded.cgroupPath, 'cgroup.events'), 'utf8'), /frozen 1/, 'the container\'s group is frozen');
  } finally {
    await fault.repair(l);
  }
  assert.ok(await waitUntil(async () => (await appIn(l, 'guarded'))?.state === 'running', 30_000, 100), `thawed once the tunnel is back: ${await daemonView(l)}`);
  const back = Date.now();
  assert.ok(await waitUntil(async () => (await seen(back)).tcp4 > 0, 15_000, 200), `through the tunnel again: ${await daemonView(l)}`);
  assert.deepEqual((await seen(t0)).leaked, [], 'over the fault: nothing by the client\'s address');
});
