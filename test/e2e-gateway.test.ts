// `ksapp gateway`: a LAN namespace behind the lab's client, which routes (and NATs) for it like a home
// router. The LAN host, given by its IPv4 address alone, sends TCP, UDP, IPv6 and DNS to the router; once
// the gateway protects it, all of it leaves only through the tunnel (its IPv6 too: it must not escape by its
// own global address), its DNS to the router reaches the tunnel's resolver, and on every fault it is
// blocked: nothing of it leaves by the client's address.
import assert from 'node:assert/strict';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { cgroupRoot } from '../cgroups/index.js';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import { createLab, fixturePath, type Lab, type Received } from '../src/lab/index.js';
import { ksappIn, labConfig, removeTestGroups } from './helpers/ksapp.js';
import { appIn, statusIn } from './helpers/lab-view.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
let lab: Lab | undefined;
let lanNs = '';
let sender: ReturnType<typeof execa> | undefined;
let daemon: ReturnType<typeof ksappIn> | undefined;

const run = async (argv: string[], input?: string): Promise<void> => { await execa(argv[0]!, argv.slice(1), input === undefined ? {} : { input }); };

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
  const l = lab;
  lanNs = `ksl-${l.suffix}-lan`;
  const [router, host] = [`lg${l.suffix}`, `lh${l.suffix}`];
  await run(['ip', 'netns', 'add', lanNs]);
  await run(['ip', '-n', l.ns.client, 'link', 'add', router, 'type', 'veth', 'peer', 'name', host, 'netns', lanNs]);
  await run(['ip', '-n', l.ns.client, '-b', '-'], [`addr add 10.77.0.1/24 dev ${router}`, `addr add fd77::1/64 dev ${router} nodad`, `link set ${router} up`].join('\n'));
  await run(['ip', '-n', lanNs, '-b', '-'], ['link set lo up', `addr add 10.77.0.2/24 dev ${host}`, `addr add fd77::2/64 dev ${host} nodad`, `link set ${host} up`,
    'route add default via 10.77.0.1', 'route add default via fd77::1'].join('\n'));
  await run([...l.nsenterArgs('client'), 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  // The router's own NAT out of its uplink, as a home router has it (the test's table, in the test's namespace).
  await run([...l.nsenterArgs('client'), 'nft', '-f', '-'], `table inet lannat${l.suffix} {\n  chain post {\n    type nat hook postrouting priority 100;\n    oifname "ci${l.suffix}" masquerade\n  }\n}\n`);
});
after(async () => {
  sender?.kill('SIGKILL');
  await sender?.catch(() => undefined);
  daemon?.kill('SIGTERM');
  await daemon;
  if (lanNs) await execa('ip', ['netns', 'del', lanNs], { reject: false });
  if (lab) {
    await removeTestGroups(lab);
    await lab.destroy();
  }
});

const ofTag = (records: readonly Received[], tag: string, from = 0): Received[] => records.filter((r) => r.t >= from && r.tag.includes(tag));

test('gateway: a LAN host reaches the internet only through the tunnel (IPv6 and DNS to the router too), blocked on every fault', { skip, timeout: 120_000 }, async () => {
  const l = lab!;
  const tag = `kg${l.suffix}`;
  sender = execa('nsenter', [`--net=/run/netns/${lanNs}`, '--', process.execPath, fixturePath('sender.mjs'), '--tag', tag,
    '--to', l.addr.internet4, '--to6', l.addr.internet6, '--dns', `${tag}.test`, '--resolver', '10.77.0.1', '--interval', '30'], { reject: false, stdin: 'ignore' });
  // Before: it leaves by the client's address (the positive control).
  assert.ok(await waitUntil(async () => ofTag(await l.received(), tag).some((r) => l.origin(r.src) === 'client' && r.proto === 'tcp'), 10_000, 100), 'routed, unprotected');

  const config = await labConfig(l, 'gateway', { probe: true });
  daemon = ksappIn(l, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await statusIn(l).catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), 'daemon up');

  const bad = await ksappIn(l, ['gateway', '--lan', `lg${l.suffix}`, '--host', '10.66.0.0/24']);
  assert.equal(bad.exitCode, 2);
  assert.match(String(bad.stderr), /LAN range 10\.66\.0\.0\/24 overlaps the tunnel .*'s own/);
  const missing = await ksappIn(l, ['gateway', '--lan', 'nosuch0']);
  assert.match(String(missing.stderr), /no interface named nosuch0/);

  // A range: the host's flows from before (its kept UDP socket) are found among the tracked ones and renewed.
  const res = await ksappIn(l, ['gateway', '--lan', `lg${l.suffix}`, '--host', '10.77.0.0/24']);
  assert.equal(res.exitCode, 0, String(res.stderr));
  assert.match(String(res.stdout), /10\.77\.0\.0\/24 on lg\w+ \(and all IPv6 from it\)/);
  const t0 = Date.now() + 500;
  const app = await appIn(l, `lan-lg${l.suffix}`);
  assert.equal(app?.policy, 'block');
  assert.equal(app?.kind, 'lan');
  assert.deepEqual(app?.forwarded?.[0]?.v4, ['10.77.0.0/24']);

  const seen = async (from: number) => {
    const internet = ofTag(await l.received(), tag, from);
    return {
      tcp4: internet.filter((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic4).length,
      udp4: internet.filter((r) => r.proto === 'udp' && r.src === l.addr.vpnPublic4).length,
      v6: internet.filter((r) => r.src === l.addr.vpnPublic6).length,
      dns: ofTag(await l.tunnelDnsQueries(), `${tag}.test`, from).length,
      leaked: internet.filter((r) => l.origin(r.src) !== 'tunnel').map((r) => `${r.proto} ${r.src}`).slice(0, 8),
    };
  };
  assert.ok(await waitUntil(async () => { const s = await seen(t0); return s.tcp4 > 0 && s.udp4 > 0 && s.v6 > 0 && s.dns > 0; }, 15_000, 200), JSON.stringify(await seen(t0)));

  for (const id of ['tunnel-deleted', 'tunnel-down', 'server-killed']) {
    const fault = faultById(id);
    await fault.inject(l);
    try {
      assert.ok(await waitUntil(async () => (await appIn(l, `lan-lg${l.suffix}`))?.state === 'blocked', 15_000, 100), `${id}: blocked`);
      const during = Date.now();
      await new Promise((r) => setTimeout(r, 1000)); // a second of the host sending into the block
      assert.ok((await appIn(l, `lan-lg${l.suffix}`))!.packets.dropped > 0, `${id}: its packets are dropped, counted`);
      assert.deepEqual((await seen(during)).leaked, [], `${id}: nothing leaves while blocked`);
    } finally {
      await fault.repair(l);
    }
    assert.ok(await waitUntil(async () => (await appIn(l, `lan-lg${l.suffix}`))?.state === 'running', 30_000, 100), `${id}: unblocked once the tunnel is back`);
    const back = Date.now();
    assert.ok(await waitUntil(async () => (await seen(back)).tcp4 > 0, 15_000, 200), `${id}: through the tunnel again`);
  }
  assert.deepEqual((await seen(t0)).leaked, [], 'over every fault: nothing by the client\'s address, in either family');
});

test('config gateway: held from a reload on, released when the entry goes', { skip, timeout: 60_000 }, async () => {
  const l = lab!;
  const tag = `kg${l.suffix}`;
  const release = await ksappIn(l, ['release', `lan-lg${l.suffix}`]);
  assert.equal(release.exitCode, 0, String(release.stderr));
  const write = async (gateway: string[]): Promise<void> => { await labConfig(l, 'gateway', { probe: true, extra: gateway }); };
  await write(['gateway:', `  - { lan: lg${l.suffix}, hosts: [10.77.0.2], name: office }`]);
  assert.ok(await waitUntil(async () => (await appIn(l, 'office'))?.origin === 'config', 10_000, 100), 'the config\'s gateway is held');
  const t0 = Date.now() + 300;
  assert.ok(await waitUntil(async () => ofTag(await l.received(), tag, t0).some((r) => r.proto === 'tcp' && r.src === l.addr.vpnPublic4), 10_000, 100), 'through the tunnel');
  assert.deepEqual(ofTag(await l.received(), tag, t0).filter((r) => l.origin(r.src) !== 'tunnel').map((r) => r.src).slice(0, 4), []);
  await write([]);
  assert.ok(await waitUntil(async () => (await appIn(l, 'office')) === undefined, 10_000, 100), 'released once the entry is gone');
  const t1 = Date.now() + 300;
  assert.ok(await waitUntil(async () => ofTag(await l.received(), tag, t1).some((r) => l.origin(r.src) === 'client'), 10_000, 100), 'routed as before, by the client\'s address');
});

test('protect --iface: everything routed in from an interface (a VM\'s tap), blocked on tunnel loss without a group to freeze', { skip, timeout: 60_000 }, async () => {
  const l = lab!;
  const tag = `kg${l.suffix}`;
  const res = await ksappIn(l, ['protect', '--iface', `lg${l.suffix}`, '--name', 'vm']);
  assert.equal(res.exitCode, 0, String(res.stderr));
  assert.match(String(res.stdout), /everything on lg\w+: blocked while the tunnel is down \(no group to freeze\)/);
  assert.equal((await appIn(l, 'vm'))?.kind, 'interface');
  const t0 = Date.now() + 300;
  const seen = async (from: number) => ofTag(await l.received(), tag, from);
  assert.ok(await waitUntil(async () => { const r = await seen(t0); return r.some((x) => x.src === l.addr.vpnPublic4) && r.some((x) => x.src === l.addr.vpnPublic6); }, 10_000, 100), 'both families through the tunnel');
  const fault = faultById('tunnel-deleted');
  await fault.inject(l);
  try {
    assert.ok(await waitUntil(async () => (await appIn(l, 'vm'))?.state === 'blocked', 15_000, 100), 'blocked');
    await new Promise((r) => setTimeout(r, 1000)); // a second of the VM sending into the block
  } finally {
    await fault.repair(l);
  }
  assert.ok(await waitUntil(async () => (await appIn(l, 'vm'))?.state === 'running', 30_000, 100), 'unblocked');
  assert.deepEqual((await seen(t0)).filter((r) => l.origin(r.src) !== 'tunnel').map((r) => `${r.proto} ${r.src}`).slice(0, 4), [], 'nothing by the client\'s address');
  assert.equal((await ksappIn(l, ['release', 'vm'])).exitCode, 0);
});

test('protect --iface with the VM\'s group (--cgroup): the kill switch freezes the VM process', { skip, timeout: 60_000 }, async () => {
  const l = lab!;
  const group = path.join(await cgroupRoot(), `ksapp-vm-${l.suffix}`);
  await mkdir(group);
  // The "VM": a process in a group of its own, as a libvirt or systemd-run VM has one.
  const vm = execa('sleep', ['600'], { reject: false, stdin: 'ignore' });
  try {
    await writeFile(path.join(group, 'cgroup.procs'), String(vm.pid));
    const res = await ksappIn(l, ['protect', '--iface', `lg${l.suffix}`, '--cgroup', group, '--name', 'vm2']);
    assert.equal(res.exitCode, 0, String(res.stderr));
    assert.match(String(res.stdout), new RegExp(`the kill switch acts on ${group.replaceAll('/', '\\/')}`));
    assert.equal((await appIn(l, 'vm2'))?.policy, 'freeze');
    const fault = faultById('tunnel-down');
    await fault.inject(l);
    try {
      assert.ok(await waitUntil(async () => (await appIn(l, 'vm2'))?.state === 'frozen', 15_000, 100), 'frozen');
      assert.match(await readFile(path.join(group, 'cgroup.events'), 'utf8'), /frozen 1/, 'the VM process is frozen');
    } finally {
      await fault.repair(l);
    }
    assert.ok(await waitUntil(async () => (await appIn(l, 'vm2'))?.state === 'running', 30_000, 100), 'thawed');
    assert.match(await readFile(path.join(group, 'cgroup.events'), 'utf8'), /frozen 0/);
    assert.equal((await ksappIn(l, ['release', 'vm2'])).exitCode, 0);
  } finally {
    vm.kill('SIGKILL');
    await vm;
    await rmdir(group).catch(() => undefined);
  }
});

test('gateway across a daemon crash: the rules stay in the kernel, and the next daemon takes the LAN back from its saved state', { skip, timeout: 90_000 }, async () => {
  const l = lab!;
  const tag = `kg${l.suffix}`;
  const res = await ksappIn(l, ['gateway', '--lan', `lg${l.suffix}`, '--host', '10.77.0.2', '--name', 'lanx']);
  assert.equal(res.exitCode, 0, String(res.stderr));
  daemon!.kill('SIGKILL');
  await daemon;
  const t0 = Date.now() + 300;
  // UDP: the kept TCP connection of the sender may be in retransmission backoff after the faults of the tests before.
  assert.ok(await waitUntil(async () => ofTag(await l.received(), tag, t0).some((r) => r.proto === 'udp' && r.src === l.addr.vpnPublic4), 10_000, 100),
    'still through the tunnel with no daemon: its rules are kernel state');
  const config = await labConfig(l, 'gateway', { probe: true });
  daemon = ksappIn(l, ['daemon', '--foreground', '--config', config]);
  assert.ok(await waitUntil(async () => (await statusIn(l).catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), 'the next daemon is up');
  const app = await appIn(l, 'lanx');
  assert.equal(app?.kind, 'lan', `taken back with what it routes for: ${JSON.stringify(app)} ${JSON.stringify((await statusIn(l)).events.slice(-6))}`);
  assert.deepEqual(app?.forwarded?.[0]?.v4, ['10.77.0.2/32']);
  const fault = faultById('tunnel-deleted');
  await fault.inject(l);
  try {
    assert.ok(await waitUntil(async () => (await appIn(l, 'lanx'))?.state === 'blocked', 15_000, 100), 'the next daemon blocks it on tunnel loss');
  } finally {
    await fault.repair(l);
  }
  assert.ok(await waitUntil(async () => (await appIn(l, 'lanx'))?.state === 'running', 30_000, 100));
  assert.deepEqual(ofTag(await l.received(), tag, t0).filter((r) => l.origin(r.src) !== 'tunnel').map((r) => `${r.proto} ${r.src}`).slice(0, 4), [], 'nothing by the client\'s address, daemon or none');
  assert.equal((await ksappIn(l, ['release', 'lanx'])).exitCode, 0);
});
