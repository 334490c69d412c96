// The lab's Podman helper: a real busybox container whose network lives inside
// the lab's client namespace, so its packets are forwarded (and masqueraded)
// by the client's stack out to the internet host, and nothing of podman's
// reaches the machine's own namespace.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { parseMountinfo } from '../cgroups/mountinfo.js';
import { waitForEvents } from '../cgroups/watch.js';
import { createLab, type Lab, type Received } from '../src/lab/index.js';
import {
  busyboxRootfs, containersConf, findLink, isStaticElf, parseDefaultGateway, parseIpAddrJson, podmanAvailable, removeContainer,
  runContainer, startPodman, type PodmanContainer, type PodmanEnv,
} from '../src/lab/podman.js';
import { runTool } from '../src/tools.js';

test('pure parts of the podman helper', () => {
  const addr = '[{"ifindex":2,"link_index":11,"ifname":"eth0","addr_info":[{"family":"inet","local":"10.89.1.4","scope":"global"},'
    + '{"family":"inet6","local":"fd89:1::4","scope":"global"},{"family":"inet6","local":"fe80::1","scope":"link"}]}]';
  assert.deepEqual(parseIpAddrJson(addr), { v4: '10.89.1.4', v6: 'fd89:1::4', linkIndex: 11 });
  assert.deepEqual(parseIpAddrJson('[{"ifindex":1,"ifname":"eth0","addr_info":[]}]'), {});
  assert.equal(parseDefaultGateway('[{"dst":"default","gateway":"10.89.1.1","dev":"eth0"}]'), '10.89.1.1');
  assert.equal(parseDefaultGateway('[]'), undefined);
  const links = '[{"ifindex":10,"ifname":"kpabc123"},{"ifindex":11,"ifname":"veth0","master":"kpabc123","link_index":2}]';
  assert.deepEqual(findLink(links, 11), { ifname: 'veth0', master: 'kpabc123' });
  assert.equal(findLink(links, 12), undefined);
  // An ELF64 header with one PT_LOAD, then the same with a PT_INTERP (a dynamic executable).
  const elf = (type: number) => {
    const b = Buffer.alloc(64 + 56);
    b.writeUInt32BE(0x7f454c46, 0); b[4] = 2; b[5] = 1;
    b.writeBigUInt64LE(64n, 0x20); b.writeUInt16LE(56, 0x36); b.writeUInt16LE(1, 0x38); b.writeUInt32LE(type, 64);
    return b;
  };
  assert.equal(isStaticElf(elf(1)), true);
  assert.equal(isStaticElf(elf(3)), false);
  assert.equal(isStaticElf(Buffer.from('#!/bin/sh\n')), false);
  const conf = containersConf({ netconf: '/x/netconf', tmp: '/x/tmp' });
  for (const line of ['runtime = "runc"', 'lock_type = "file"', 'network_config_dir = "/x/netconf"', 'tmp_dir = "/x/tmp"']) assert.ok(conf.includes(line), line);
  assert.ok(!conf.includes('10.88.'));
  assert.match(conf, /default_ulimits = \[.*nproc=/);
});

const unavailable = await podmanAvailable();

/** What podman could leave in the machine's own namespace: its links, nft tables and ruleset, and forwarding. */
async function rootView(): Promise<{ links: string[]; tables: string[]; ruleset: string; forward: string }> {
  const links = (await runTool('ip', ['-o', 'link', 'show'])).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
  const tables = (await runTool('nft', ['list', 'tables'])).split('\n').filter(Boolean);
  const forward = ['ipv4/ip_forward', 'ipv6/conf/all/forwarding'].map((k) => readFileSync(`/proc/sys/net/${k}`, 'utf8').trim()).join(' ');
  return { links, tables, ruleset: await runTool('nft', ['list', 'ruleset']), forward };
}

/** Asserts nothing of podman's is in the root namespace; links and tables other tests may add at the same time are only reported. */
function assertRootUntouched(before: Awaited<ReturnType<typeof rootView>>, now: Awaited<ReturnType<typeof rootView>>, suffix: string, note: (s: string) => void): void {
  const newLinks = now.links.filter((l) => !before.links.includes(l));
  const newTables = now.tables.filter((t) => !before.tables.includes(t));
  if (newLinks.length + newTables.length > 0) note(`new in the root namespace meanwhile: ${[...newLinks, ...newTables].join(', ')}`);
  assert.deepEqual(newLinks.filter((l) => /^(veth|podman|kp|cni)/.test(l) || l.includes(suffix)), [], 'no bridge or veth in the root namespace');
  assert.deepEqual(newTables.filter((t) => /^table (ip|ip6) (nat|filter)$|netavark/.test(t)), [], 'no netavark table in the root namespace');
  assert.ok(!/NETAVARK/i.test(now.ruleset) && !now.ruleset.includes('10.89.'), 'no netavark chain or rule in the root namespace');
  assert.equal(now.forward, before.forward, 'forwarding of the root namespace unchanged');
}

/** Polls the internet host's log until `pred` finds a record. */
async function waitReceived(lab: Lab, pred: (r: Received) => boolean, what: string, timeoutMs = 8000): Promise<Received> {
  for (const deadline = Date.now() + timeoutMs; ; await delay(50)) {
    const hit = (await lab.received()).find(pred);
    if (hit) return hit;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify((await lab.received()).slice(-4))}`);
  }
}

describe('a podman container inside the lab client namespace', { skip: unavailable ?? false, timeout: 90_000 }, () => {
  let lab: Lab | undefined;
  let env: PodmanEnv | undefined;
  let sender: PodmanContainer;
  let rootBefore: Awaited<ReturnType<typeof rootView>>;
  let rootfs: string;
  const t0 = Date.now();
  const sent = async (tag: string) => (await lab!.received()).filter((r) => r.tag === tag).length;

  before(async () => {
    rootBefore = await rootView();
    lab = await createLab();
    rootfs = await busyboxRootfs(join(lab.dir, 'rootfs'));
    env = await startPodman({ netns: lab.ns.client, suffix: lab.suffix, dir: lab.dir, dns: [lab.addr.internet4] });
    const { internet4, internet6 } = lab.addr;
    // TCP ticks every ~100 ms over both families: busybox nc has no UDP (-u); UDP is sent with tftp below.
    const loop = `i=0; while :; do i=$((i+1)); echo "pod $i" | nc -w 1 ${internet4} 7000; echo "pod6 $i" | nc -w 1 ${internet6} 7000; sleep 0.1; done`;
    sender = await runContainer(env, { name: 'sender', rootfs, cmd: ['/bin/sh', '-c', loop] });
  });

  after(async () => {
    try {
      await env?.stop();
    } finally {
      await lab?.destroy();
    }
  });

  it('gets an address on the env bridge, whose host end is a veth in the client namespace', async () => {
    assert.ok(env && lab);
    assert.match(sender.addresses.v4 ?? '', /^10\.89\.1\.\d+$/);
    assert.match(sender.addresses.v6 ?? '', /^fd89:1::[0-9a-f]+$/);
    assert.equal(sender.gatewayV4, '10.89.1.1');
    assert.equal(sender.bridge, env.bridge);
    assert.equal(sender.inLabNetns, false);
    const veth = await lab.exec('client', ['ip', '-o', 'link', 'show', 'dev', sender.hostVeth ?? 'none']);
    assert.match(veth, new RegExp(`master ${env.bridge} `));
  });

  it('sends TCP and UDP, IPv4 and IPv6, to the internet host, masqueraded to the client address', async () => {
    assert.ok(env && lab);
    const { client4, client6, internet4, internet6 } = lab.addr;
    const tcp4 = await waitReceived(lab, (r) => r.proto === 'tcp' && r.tag === 'pod', 'TCP from the container');
    const tcp6 = await waitReceived(lab, (r) => r.proto === 'tcp' && r.tag === 'pod6', 'TCP over IPv6 from the container');
    assert.deepEqual([tcp4.src, tcp6.src], [client4, client6]);
    assert.equal(lab.origin(tcp4.src), 'client');
    // A tftp read request is a UDP datagram to port 7000; nothing answers it, so it is cut short after a second.
    await env.podman(['exec', sender.name, 'sh', '-c',
      `timeout 1 tftp -g -r kpu4 -l /tmp/a ${internet4} 7000 & timeout 1 tftp -g -r kpu6 -l /tmp/b ${internet6} 7000 & wait; true`]);
    const udp4 = await waitReceived(lab, (r) => r.proto === 'udp' && r.tag.includes('\u0001kpu4\u0000'), 'UDP from the container');
    const udp6 = await waitReceived(lab, (r) => r.proto === 'udp' && r.tag.includes('\u0001kpu6\u0000'), 'UDP over IPv6 from the container');
    assert.deepEqual([udp4.src, udp6.src], [client4, client6]);
    assert.equal(lab.origin(udp6.src), 'client');
  });

  it('resolves through aardvark-dns on the bridge gateway, which runs in the client namespace and forwards from there', async () => {
    assert.ok(env && lab);
    const resolv = await env.podman(['exec', sender.name, 'cat', '/etc/resolv.conf']);
    assert.deepEqual(resolv.split('\n').filter((l) => l.startsWith('nameserver')), ['nameserver 10.89.1.1', 'nameserver fd89:1::1', `nameserver ${lab.addr.internet4}`]);
    const aardvark = Number(readFileSync(join(env.dir, 'netrun/aardvark-dns/aardvark.pid'), 'utf8'));
    assert.equal(statSync(`/proc/${aardvark}/ns/net`).ino, statSync(`/run/netns/${lab.ns.client}`).ino, 'aardvark-dns runs in the client namespace');
    await env.podman(['exec', sender.name, 'nslookup', 'via-aardvark.test']);
    const q = await waitReceived(lab, (r) => r.proto === 'dns' && r.tag === 'via-aardvark.test', 'the forwarded query');
    assert.equal(q.src, lab.addr.client4, 'aardvark-dns forwards from the client address (its own socket, not the container)');
  });

  it('is frozen by writing 1 to cgroup.freeze of its cgroup v2 group, and thawed by 0', async () => {
    assert.ok(env && lab);
    const cgroup2 = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.fstype === 'cgroup2').map((m) => m.mountPoint);
    assert.ok(cgroup2.some((m) => sender.cgroupPath.startsWith(`${m}${env!.cgroupParent}/`)), sender.cgroupPath);
    assert.match(sender.cgroupPath, new RegExp(`/libpod-${sender.id}(\\.scope)?$`));
    assert.ok(readFileSync(join(sender.cgroupPath, 'cgroup.procs'), 'utf8').split('\n').includes(String(sender.pid)));
    const events = join(sender.cgroupPath, 'cgroup.events');
    const label = { action: `freeze ${sender.cgroupPath}`, hint: '' };
    try {
      await writeFile(join(sender.cgroupPath, 'cgroup.freeze'), '1');
      await waitForEvents(events, (e) => e.frozen, 3000, label);
      assert.match(readFileSync(events, 'utf8'), /^frozen 1$/m);
      await delay(300); // a tick already on the wire may still land
      const frozenAt = await sent('pod');
      await delay(600);
      assert.equal(await sent('pod'), frozenAt, 'no traffic while frozen');
    } finally {
      await writeFile(join(sender.cgroupPath, 'cgroup.freeze'), '0');
    }
    await waitForEvents(events, (e) => !e.frozen, 3000, label);
    const thawedAt = await sent('pod');
    for (const deadline = Date.now() + 5000; (await sent('pod')) <= thawedAt; await delay(50)) assert.ok(Date.now() < deadline, 'traffic again after thaw');
  });

  it('--network host shares the client namespace; container:NAME shares another container\'s', async () => {
    assert.ok(env && lab);
    const host = await runContainer(env, { name: 'hostnet', rootfs, network: 'host', cmd: ['/bin/sh', '-c', `echo "podhost 1" | nc -w 1 ${lab.addr.internet4} 7000; exec sleep 600`] });
    assert.equal(host.inLabNetns, true);
    assert.deepEqual(host.addresses, {});
    assert.equal((await env.podman(['exec', host.name, 'cat', '/etc/resolv.conf'])).trim(), `nameserver ${lab.addr.internet4}`);
    const seen = await waitReceived(lab, (r) => r.tag === 'podhost', 'TCP from the host-network container');
    assert.equal(seen.src, lab.addr.client4, 'sent straight from the client stack, no NAT');
    const joined = await runContainer(env, { name: 'joined', rootfs, network: 'container:sender', cmd: ['/bin/sleep', '600'] });
    assert.deepEqual([joined.addresses, joined.hostVeth], [sender.addresses, sender.hostVeth]);
    assert.notEqual(joined.cgroupPath, sender.cgroupPath, 'a group of its own');
    await removeContainer(env, joined.name);
    await removeContainer(env, host.name);
    assert.equal((await env.podman(['ps', '--format', '{{.Names}}'])).trim(), sender.name);
  });

  it('leaves nothing in the machine namespace while running, and nothing of itself after stop()', async (t) => {
    assert.ok(env && lab);
    assertRootUntouched(rootBefore, await rootView(), lab.suffix, (s) => t.diagnostic(s));
    const cgroupParents = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
      .filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2').map((m) => join(m.mountPoint, env!.cgroupParent));
    assert.ok(cgroupParents.some((p) => existsSync(p)));
    await env.stop();
    await env.stop(); // idempotent
    assert.deepEqual(cgroupParents.filter((p) => existsSync(p)), [], 'every cgroup of the env removed');
    assert.equal(existsSync(env.dir), false);
    assert.ok(!existsSync(`/proc/${sender.pid}`) || /\) Z /.test(readFileSync(`/proc/${sender.pid}/stat`, 'utf8')), 'the container process ended');
    const links = await lab.exec('client', ['ip', '-o', 'link', 'show']);
    assert.ok(!links.includes(env.bridge) && !links.includes(sender.hostVeth ?? 'none'), 'bridge and veth removed');
    assertRootUntouched(rootBefore, await rootView(), lab.suffix, (s) => t.diagnostic(s));
    t.diagnostic(`lab + podman + containers + checks took ${Date.now() - t0} ms`);
  });
});
