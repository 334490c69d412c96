// Allowlisted host names in the lab: the daemon looks the name up through the machine's resolver (here
// the internet host's, named by a resolv.conf bound over the daemon's own), and its address is reached
// directly from the client's address — also while the tunnel is down under `block` — while everything else
// of the app stays in the tunnel or nowhere; the entry is renewed before it expires while the record lives,
// and expires when the record is gone.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { CLI_PATH } from '../src/demo/ksapp-process.js';
import { faultById } from '../src/demo/faults.js';
import { waitUntil } from '../src/demo/wait.js';
import { createLab, fixturePath, type Lab } from '../src/lab/index.js';
import { ksappIn, labConfig, labSocket, removeTestGroups } from './helpers/ksapp.js';
import { appIn, seenIn, statusIn, tagIn } from './helpers/lab-view.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const NAME = 'direct.lab.test';
const TTL_S = 6;
let lab: Lab;
const children: Array<ReturnType<typeof ksappIn>> = [];
let daemon: ReturnType<typeof execa> | undefined;

before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only' });
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  daemon?.kill('SIGTERM');
  await daemon?.catch(() => undefined);
  if (lab) {
    await removeTestGroups(lab);
    await lab.destroy();
  }
});

/** The daemon in the client namespace, in a mount namespace of its own where /etc/resolv.conf names the lab's resolver. */
function daemonWithResolver(config: string, resolvConf: string): ReturnType<typeof execa> {
  const argv = [
    'unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"', 'sh', resolvConf,
    ...lab.nsenterArgs('client'), process.execPath, CLI_PATH, 'daemon', '--foreground', '--config', config,
  ];
  return execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', env: { KSAPP_SOCKET: labSocket(lab) } });
}

/** The addresses in the kernel's timed set of the config's names. */
async function kernelEntries(): Promise<string> {
  return lab.exec('client', ['nft', 'list', 'set', 'inet', 'ksapp', 'allowname4']);
}

test('allow: a host name is resolved, reached directly also while blocked, renewed while its record lives, and expires with it', { skip, timeout: 90_000 }, async () => {
  await lab.serveNames({ [NAME]: { a: [lab.addr.internet4], ttl: TTL_S } });
  const resolvConf = path.join(lab.dir, 'resolv.conf');
  await writeFile(resolvConf, `nameserver ${lab.addr.internet4}\n`);
  const config = await labConfig(lab, 'allow-names', { probe: true, extra: [`allow: [${NAME}]`] });
  daemon = daemonWithResolver(config, resolvConf);
  assert.ok(await waitUntil(async () => (await statusIn(lab).catch(() => undefined))?.tunnel.state === 'up', 15_000, 100), 'daemon up');
  const tag = tagIn(lab, 'an');
  children.push(ksappIn(lab, ['run', '--name', 'an', '--on-drop', 'block', '--', process.execPath, fixturePath('sender.mjs'), '--tag', tag,
    '--to', lab.addr.internet4, '--to6', lab.addr.internet6, '--dns', `${tag}.test`, '--resolver', lab.addr.internet4, '--interval', '30']));
  const named = async (): Promise<string[]> => ((await appIn(lab, 'an'))?.allowNames ?? []).flatMap((n) => n.addresses.map((a) => `${n.name}=${a.address}`));
  assert.ok(await waitUntil(async () => (await named()).length > 0, 10_000, 100), 'status shows what the name resolves to');
  assert.deepEqual(await named(), [`${NAME}=${lab.addr.internet4}`]);
  assert.deepEqual((await appIn(lab, 'an'))?.allow, [NAME]);
  const lookups = async (): Promise<number> => (await lab.received()).filter((r) => r.proto === 'dns' && r.tag === NAME && r.src === lab.addr.client4).length;
  assert.ok(await lookups() > 0, 'the daemon asked the machine\'s resolver, from the client\'s own address');

  const direct = async (from: number): Promise<{ udp: number; tcp: number; v6Direct: number; v6Tunnel: number }> => {
    const recs = (await lab.received()).filter((r) => r.t >= from && r.tag.includes(tag) && r.proto !== 'dns');
    return {
      udp: recs.filter((r) => r.proto === 'udp' && r.src === lab.addr.client4).length,
      tcp: recs.filter((r) => r.proto === 'tcp' && r.src === lab.addr.client4).length,
      v6Direct: recs.filter((r) => r.src === lab.addr.client6).length,
      v6Tunnel: recs.filter((r) => r.src === lab.addr.vpnPublic6).length,
    };
  };
  assert.ok(await waitUntil(async () => { const d = await direct(0); return d.udp > 0 && d.tcp > 0 && d.v6Tunnel > 0; }, 10_000, 100), JSON.stringify(await direct(0)));
  assert.equal((await direct(0)).v6Direct, 0, 'the name has no AAAA record: IPv6 never direct');
  assert.equal((await seenIn(lab, 'an')).ispDns, 0, 'the app\'s own DNS still went to the tunnel\'s resolver');
  assert.match(await kernelEntries(), new RegExp(`${lab.addr.internet4.replaceAll('.', '\\.')} timeout`), 'a timed entry in the kernel');

  // Past one TTL, the entry is still there: renewed by a fresh lookup before it expired.
  const firstLookups = await lookups();
  assert.ok(await waitUntil(async () => (await lookups()) >= firstLookups + 2, (TTL_S * 2 + 5) * 1000, 200), 'looked up again before each expiry');
  assert.match(await kernelEntries(), new RegExp(lab.addr.internet4.replaceAll('.', '\\.')), 'renewed, not lapsed');

  await faultById('tunnel-deleted').inject(lab);
  try {
    assert.ok(await waitUntil(async () => (await appIn(lab, 'an'))?.state === 'blocked', 10_000, 50), 'blocked');
    const t0 = Date.now();
    assert.ok(await waitUntil(async () => (await direct(t0)).udp > 0, 5000, 100), 'the named address still reached while blocked');
    assert.equal((await direct(t0)).v6Direct, 0, 'no IPv6 leaves while blocked');
    assert.equal((await seenIn(lab, 'an', t0)).ispDns, 0, 'no DNS leaves while blocked');

    // The record goes: what was allowed lives until its TTL runs out, then nothing of the app leaves.
    await lab.serveNames({ [NAME]: { a: [], ttl: TTL_S } });
    const gone = Date.now();
    assert.ok(await waitUntil(async () => (await named()).length === 0, (TTL_S + 5) * 1000, 200), 'status: no address once the record expired');
    assert.doesNotMatch(await kernelEntries(), new RegExp(lab.addr.internet4.replaceAll('.', '\\.')), 'the kernel entry expired');
    assert.ok(Date.now() - gone <= (TTL_S + 5) * 1000);
    const t1 = Date.now() + 200; // packets already in flight
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await direct(t1), { udp: 0, tcp: 0, v6Direct: 0, v6Tunnel: 0 }, 'blocked, and no longer allowed: nothing leaves');
  } finally {
    await faultById('tunnel-deleted').repair(lab);
  }
});

test('allow: a reload gives a running config app its entry\'s new allowlist, and takes it away again', { skip, timeout: 60_000 }, async () => {
  assert.ok(daemon, 'the daemon of the test before');
  const tag = tagIn(lab, 'cf');
  const write = async (own: string): Promise<void> => {
    await labConfig(lab, 'allow-names', { probe: true, extra: ['apps:', '  - name: cf',
      `    command: [${process.execPath}, ${fixturePath('sender.mjs')}, --tag, ${tag}, --to6, ${lab.addr.internet6}, --interval, '30']`, ...(own ? [`    allow: [${own}]`] : [])] });
  };
  const v6 = async (from: number): Promise<{ direct: number; tunnel: number }> => {
    const recs = (await lab.received()).filter((r) => r.t >= from && r.tag.includes(tag));
    return { direct: recs.filter((r) => r.src === lab.addr.client6).length, tunnel: recs.filter((r) => r.src === lab.addr.vpnPublic6).length };
  };
  await write('');
  // Started once the reload has made it known.
  assert.ok(await waitUntil(async () => (await ksappIn(lab, ['start', 'cf'])).exitCode === 0, 10_000, 200), 'the reloaded config names it');
  assert.ok(await waitUntil(async () => (await appIn(lab, 'cf'))?.state === 'running', 15_000, 100), 'the config app runs');
  assert.ok(await waitUntil(async () => (await v6(0)).tunnel > 0, 10_000, 100), 'through the tunnel');
  await write(`"${lab.addr.internet6}/128"`);
  assert.ok(await waitUntil(async () => (await appIn(lab, 'cf'))?.allow?.includes(`${lab.addr.internet6}/128`) === true, 10_000, 100), 'status: its new allowlist');
  let t = Date.now();
  assert.ok(await waitUntil(async () => (await v6(t)).direct > 0, 10_000, 100), 'now directly');
  await write('');
  assert.ok(await waitUntil(async () => (await appIn(lab, 'cf'))?.allow === undefined, 10_000, 100), 'status: no allowlist');
  t = Date.now() + 200;
  assert.ok(await waitUntil(async () => (await v6(t)).tunnel > 0, 10_000, 100), 'through the tunnel again');
  assert.equal((await v6(t)).direct, 0, 'never directly once taken away');
});
