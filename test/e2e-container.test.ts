// `ksapp protect --container` against a real Podman container whose network lives in the lab's client
// namespace: its TCP, UDP, IPv6 and DNS (to Podman's embedded resolver, aardvark-dns, which forwards
// from the host, and to a hard-coded resolver) leave only through the tunnel; the tunnel is deleted, set
// down and silently killed, and each time the container is frozen and nothing of it leaves by the
// client's own address, while an unprotected container keeps working (the positive control).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { busyboxRootfs, podmanAvailable, podmanWrapper, runContainer, startPodman, type PodmanContainer, type PodmanEnv } from '../src/lab/podman.js';
import { ofTag, senderLoop } from './helpers/container-sender.js';
import { ksappIn, labConfig, removeTestGroups } from './helpers/ksapp.js';
import { appIn, statusIn } from './helpers/lab-view.js';

const reason = process.getuid?.() !== 0 ? 'needs root' : await podmanAvailable();
const skip = reason ?? false;
let lab: Lab | undefined;
let env: PodmanEnv | undefined;
let daemon: ReturnType<typeof ksappIn> | undefined;
let wrapper = '';
let guarded: PodmanContainer;

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
  env = await startPodman({ netns: lab.ns.client, suffix: lab.suffix, dir: lab.dir, dns: [lab.addr.internet4] });
  wrapper = await podmanWrapper(env);
});
after(async () => {
  daemon?.kill('SIGTERM');
  await daemon;
  // Every step runs, whatever an earlier one threw; the first error is reported with its cause.
  const failed = await env?.stop().then(() => undefined, (e: Error) => e);
  if (lab) {
    await removeTestGroups(lab).catch(() => undefined);
    await lab.destroy();
  }
  if (failed) throw new Error(`${failed.message}: ${String((failed.cause as Error | undefined)?.message ?? failed.cause)}`);
});


test('protect --container: TCP, UDP, IPv6 and DNS only through the tunnel; frozen on every fault, nothing by the client\'s address', { skip, timeout: 180_000 }, async () => {
  const l = lab!;
  const rootfs = await busyboxRootfs(path.join(l.dir, 'rootfs'));
  const tag = `kp${l.suffix}`;
  const control = `ku${l.suffix}`;
  guarded = await runContainer(env!, { name: 'guarded', rootfs, cmd: ['/bin/sh', '-c', senderLoop(tag, l, { dns: true, udp: true })] });
  await runContainer(env!, { name: 'control', rootfs, cmd: ['/bin/sh', '-c', senderLoop(control, l, { udp: true })] });
  // A container in the guarded one's network namespace (as in a pod, or a VPN-sidecar setup): its traffic is the guarded one's.
  const joinedTag = `kj${l.suffix}`;
  const joined = await runContainer(env!, { name: 'joined', rootfs, network: 'container:guarded', cmd: ['/bin/sh', '-c', senderLoop(joinedTag, l)] });
  // Before: both leave by the client's address (netavark's masquerade), the embedded resolver forwards from it too: a leak would show.
  assert.ok(await waitUntil(async () => ofTag(await l.received(), tag).some((r) => l.origin(r.src) === 'client' && r.proto === 'dns'), 15_000, 200), 'seen unprotected first');

  const config = await labConfig(l, 'container', { probe: true });
  const podmanEnv = { env: { KSAPP_PODMAN: wrapper, KSAPP_DOCKER: '/nonexistent/docker' } };
  daemon = ksappIn(l, ['daemon', '--foreground', '--config', config], podmanEnv);
  assert.ok(await waitUntil(async () => (await statusIn(l).catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), 'daemon up');

  const protect = await ksappIn(l, ['protect', '--container', guarded.name, '--name', 'guarded'], podmanEnv);
  assert.equal(protect.exitCode, 0, String(protect.stderr));
  assert.match(String(protect.stdout), new RegExp(`podman container ${guarded.name}: ${guarded.addresses.v4!.replaceAll('.', '\\.')}/32, .* on kp${l.suffix}`));
  assert.match(String(protect.stdout), /sharing its network, stopped with it: guarded-/);
  const t0 = Date.now() + 500; // a connection already in flight may finish its way
  const joinedApp = (await statusIn(l)).apps.find((a) => a.cgroup === joined.cgroupPath);
  assert.ok(joinedApp, 'the container sharing its network is an app of its own');
  const app = await appIn(l, 'guarded');
  assert.equal(app?.container?.id, guarded.id);
  assert.equal(app?.kind, 'container');
  assert.equal(app?.cgroup, guarded.cgroupPath);

  const seen = async (from: number) => {
    const internet = ofTag(await l.received(), tag, from);
    return {
      tcp4: internet.filter((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic4).length,
      tcp6: internet.filter((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic6).length,
      udp: internet.filter((r) => r.proto === 'udp' && r.src === l.addr.vpnPublic4).length,
      joined: ofTag(await l.received(), joinedTag, from).filter((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic4).length,
      leaked: [...internet, ...ofTag(await l.received(), joinedTag, from)].filter((r) => l.origin(r.src) !== 'tunnel').map((r) => `${r.proto} ${r.src} ${JSON.stringify(r.tag.slice(0, 24))}`).slice(0, 8),
      embedded: ofTag(await l.tunnelDnsQueries(), `${tag}-dns.test`, from).length,
      hard: ofTag(await l.tunnelDnsQueries(), `${tag}-hard.test`, from).length,
    };
  };
  assert.ok(await waitUntil(async () => { const s = await seen(t0); return s.tcp4 > 0 && s.tcp6 > 0 && s.udp > 0 && s.embedded > 0 && s.hard > 0 && s.joined > 0; }, 15_000, 200),
    JSON.stringify(await seen(t0)));
  assert.deepEqual((await seen(t0)).leaked, [], 'nothing by the client\'s address: no traffic, no DNS through aardvark, no hard-coded resolver');

  for (const id of ['tunnel-deleted', 'tunnel-down', 'server-killed']) {
    const fault = faultById(id);
    await fault.inject(l);
    try {
      assert.ok(await waitUntil(async () => (await appIn(l, 'guarded'))?.state === 'frozen', 15_000, 100), `${id}: frozen`);
      assert.match(await readFile(path.join(guarded.cgroupPath, 'cgroup.events'), 'utf8'), /frozen 1/, `${id}: the container's group is frozen`);
      assert.ok(await waitUntil(async () => /frozen 1/.test(await readFile(path.join(joined.cgroupPath, 'cgroup.events'), 'utf8')), 5000, 50), `${id}: and the one sharing its network`);
      const during = Date.now();
      assert.ok(await waitUntil(async () => ofTag(await l.received(), control, during).some((r) => l.origin(r.src) === 'client'), 10_000, 200),
        `${id}: the unprotected container keeps working`);
    } finally {
      await fault.repair(l);
    }
    assert.ok(await waitUntil(async () => (await appIn(l, 'guarded'))?.state === 'running', 30_000, 100), `${id}: thawed once the tunnel is back`);
    const back = Date.now();
    assert.ok(await waitUntil(async () => (await seen(back)).tcp4 > 0, 15_000, 200), `${id}: through the tunnel again`);
  }
  assert.deepEqual((await seen(t0)).leaked, [], 'over every fault: nothing by the client\'s address');
});

test('protect --container / --iface: bad input is refused with what to do, and protects nothing', { skip, timeout: 30_000 }, async () => {
  const l = lab!;
  const podmanEnv = { env: { KSAPP_PODMAN: wrapper, KSAPP_DOCKER: '/nonexistent/docker' } };
  const cases: Array<[string[], RegExp]> = [
    [['--container', 'nosuch'], /no running container named "nosuch" \(podman: .*; docker: .*\)/],
    [['--container', 'bad;name'], /--container must be a container name or id/],
    [['--container', guarded.name], /already protected as guarded/],
    [['--iface', 'lo'], /interface lo is loopback/],
    [['--iface', l.tunnel.clientIface], /is a tunnel ksapp watches/],
    [['--iface', `ci${l.suffix}`], /carries this host's default route|the uplink/],
    [['--iface', 'nosuch0'], /no interface named nosuch0/],
    [['--iface', `kp${l.suffix}`, '--on-drop', 'freeze'], /--on-drop freeze needs the VM's group/],
  ];
  const before = (await statusIn(l)).apps.map((a) => a.name);
  for (const [args, message] of cases) {
    const res = await ksappIn(l, ['protect', ...args], podmanEnv);
    assert.equal(res.exitCode, 2, `${args.join(' ')}: ${String(res.stderr)}`);
    assert.match(String(res.stderr), message, args.join(' '));
  }
  assert.deepEqual((await statusIn(l)).apps.map((a) => a.name), before, 'nothing added');
});

test('config match: { container }: protected when found running, and again when recreated with a new id and address', { skip, timeout: 120_000 }, async () => {
  const l = lab!;
  const rootfs = path.join(l.dir, 'rootfs');
  const tag = `kr${l.suffix}`;
  // Its sender waits a moment: the time between its start and its protection is measured, not sent into.
  const cmd = ['/bin/sh', '-c', `sleep 3; ${senderLoop(tag, l)}`];
  const first = await runContainer(env!, { name: 'ruled', rootfs, cmd });
  await labConfig(l, 'container', { probe: true, extra: ['apps:', '  - name: ruled', `    match: { container: ${first.name} }`] });
  assert.ok(await waitUntil(async () => (await appIn(l, 'ruled'))?.container?.id === first.id, 15_000, 100), 'found running at the reload');
  assert.equal((await appIn(l, 'ruled'))?.origin, 'config');
  // Recreated: a new container of that name, a new id, its own address and veth.
  await env!.podman(['rm', '--force', '--time', '0', first.name]);
  const started = Date.now();
  const second = await runContainer(env!, { name: 'ruled', rootfs, cmd });
  const ran = Date.now();
  assert.notEqual(second.id, first.id);
  assert.ok(await waitUntil(async () => (await appIn(l, 'ruled'))?.container?.id === second.id, 15_000, 20), 'protected again');
  const adoptedAt = Date.now();
  console.log(`# recreated container protected ${adoptedAt - ran} ms after \`podman run\` returned (${ran - started} ms for podman run itself; its sender waits 3 s)`);
  const app = await appIn(l, 'ruled');
  assert.deepEqual(app?.forwarded?.[0]?.v4, [`${second.addresses.v4}/32`], JSON.stringify(app));
  const t0 = Date.now();
  assert.ok(await waitUntil(async () => ofTag(await l.received(), tag, t0).some((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic4), 15_000, 200), 'through the tunnel');
  assert.deepEqual(ofTag(await l.received(), tag).filter((r) => l.origin(r.src) !== 'tunnel').map((r) => r.src).slice(0, 5), [], 'never by the client\'s address');
});

test('protect --container: a published port answers through the tunnel only; a container on the host\'s network is protected as an app', { skip, timeout: 90_000 }, async () => {
  const l = lab!;
  const rootfs = path.join(l.dir, 'rootfs');
  const server = await runContainer(env!, { name: 'server', rootfs, publish: ['8080:80'], cmd: ['/bin/nc', '-ll', '-p', '80', '-e', '/bin/hostname'] });
  const ask = async (ns: string, addr: string): Promise<string> =>
    (await execa('nsenter', [`--net=/run/netns/${ns}`, '--', 'busybox', 'nc', '-w', '2', addr, '8080'], { reject: false, stdin: 'ignore', timeout: 5000 })).stdout.trim();
  // Before: the port answers whoever asks, from the internet by the client's own address too (the positive control).
  assert.ok(await waitUntil(async () => (await ask(l.ns.internet, l.addr.client4)) !== '', 10_000, 200), 'published, and reachable from outside');
  const podmanEnv = { env: { KSAPP_PODMAN: wrapper, KSAPP_DOCKER: '/nonexistent/docker' } };
  const res = await ksappIn(l, ['protect', '--container', server.name, '--name', 'server'], podmanEnv);
  assert.equal(res.exitCode, 0, String(res.stderr));
  const droppedBefore = (await appIn(l, 'server'))?.packets.dropped ?? 0;
  assert.equal(await ask(l.ns.internet, l.addr.client4), '', 'no longer from outside the tunnel');
  // Dropped as it comes in (its replies would have gone into the tunnel anyway), and counted as the container's.
  assert.ok(await waitUntil(async () => ((await appIn(l, 'server'))?.packets.dropped ?? 0) > droppedBefore, 3000, 100), 'the connection attempt was dropped and counted');
  assert.notEqual(await ask(l.ns.vpn, l.tunnel.client4), '', 'through the tunnel, it answers');

  const host = await runContainer(env!, { name: 'hostnet', rootfs, network: 'host', cmd: ['/bin/sleep', '600'] });
  const hostRes = await ksappIn(l, ['protect', '--container', host.name, '--name', 'hostnet'], podmanEnv);
  assert.equal(hostRes.exitCode, 0, String(hostRes.stderr));
  assert.match(String(hostRes.stdout), /uses the host's network: protected as an app, by its group/);
  const app = await appIn(l, 'hostnet');
  assert.equal(app?.cgroup, host.cgroupPath);
  assert.equal(app?.kind, 'process', 'its sockets are this host\'s: the cgroup match holds them');
});

test('protect --container across a daemon crash: the next daemon takes the container back, and freezes it on tunnel loss', { skip, timeout: 90_000 }, async () => {
  const l = lab!;
  const podmanEnv = { env: { KSAPP_PODMAN: wrapper, KSAPP_DOCKER: '/nonexistent/docker' } };
  daemon!.kill('SIGKILL');
  await daemon;
  daemon = ksappIn(l, ['daemon', '--foreground', '--config', await labConfig(l, 'container', { probe: true })], podmanEnv);
  assert.ok(await waitUntil(async () => (await statusIn(l).catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), 'the next daemon is up');
  const app = await appIn(l, 'guarded');
  assert.equal(app?.kind, 'container', 'taken back as the container it is');
  assert.equal(app?.container?.id, guarded.id);
  assert.deepEqual(app?.forwarded?.[0]?.v4, [`${guarded.addresses.v4}/32`]);
  const fault = faultById('tunnel-deleted');
  await fault.inject(l);
  try {
    assert.ok(await waitUntil(async () => (await appIn(l, 'guarded'))?.state === 'frozen', 15_000, 100), 'frozen by the next daemon');
    assert.match(await readFile(path.join(guarded.cgroupPath, 'cgroup.events'), 'utf8'), /frozen 1/);
  } finally {
    await fault.repair(l);
  }
  assert.ok(await waitUntil(async () => (await appIn(l, 'guarded'))?.state === 'running', 30_000, 100), 'thawed');
});
