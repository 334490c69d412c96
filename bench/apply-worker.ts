// Times ksapp's firewall apply (one `nft -f` transaction, with the read before and the
// read-back after) for growing numbers of protected apps, inside a bench namespace.
// Prints one JSON line: { sizes: [{ apps, applyMs: [...], nftMs: [...], rulesetBytes }] }.
// A size gets `repeats` runs, or fewer once it has used BUDGET_MS (at least one): listing
// a table of 1,000 cgroup rules can take a minute.
import dgram from 'node:dgram';
import path from 'node:path';
import { cgroupLevel, nftCgroupPath } from '../cgroups/index.js';
import { applyPolicy, DEFAULT_LAN, replaceTransaction, type FirewallPolicy } from '../src/firewall/index.js';
import { runTool, tools } from '../src/tools.js';

/** The only argument (JSON). */
export interface ApplySpec {
  readonly cgroupRoot: string;
  /** Absolute parent group; its children app1..appN exist already. */
  readonly parentDir: string;
  readonly sizes: readonly number[];
  readonly repeats: number;
  readonly iface: string;
}

const BUDGET_MS = 60_000;

const ref = (root: string, dir: string) => ({ nftPath: nftCgroupPath(root, dir), level: cgroupLevel(root, dir) });

/** The policy ksapp would hold with `n` apps (pure apart from path arithmetic). */
function policyFor(spec: ApplySpec, n: number): FirewallPolicy {
  return {
    tunnelIface: spec.iface, parent: ref(spec.cgroupRoot, spec.parentDir),
    apps: Array.from({ length: n }, (_, i) => ({
      id: i + 1, name: `app${i + 1}`, cgroup: ref(spec.cgroupRoot, path.join(spec.parentDir, `app${i + 1}`)), allowLan: false, blocked: false,
    })),
    dns: { v4: ['10.77.0.1'], v6: [] }, lan: { v4: [...DEFAULT_LAN.v4], v6: [...DEFAULT_LAN.v6] },
  };
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Median round trip, µs, of `count` UDP datagrams between two sockets of this
 * (unprotected) process on loopback: each passes the output hook twice, where
 * every packet of the machine meets the classify chain.
 */
async function echoRttUs(count: number): Promise<number> {
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  await Promise.all([new Promise<void>((r) => a.bind(0, '127.0.0.1', r)), new Promise<void>((r) => b.bind(0, '127.0.0.1', r))]);
  b.on('message', (m, from) => b.send(m, from.port, from.address));
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve) => { a.once('message', () => resolve()); a.send('x', b.address().port, '127.0.0.1'); });
    rtts.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  a.close();
  b.close();
  rtts.sort((x, y) => x - y);
  return Math.round(rtts[Math.floor(rtts.length / 2)]! * 10) / 10;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ApplySpec;
  // The floor: no ksapp table at all, in the same run.
  const bareRttUs = await echoRttUs(2000);
  const sizes = [];
  for (const n of spec.sizes) {
    const policy = policyFor(spec, n);
    const text = replaceTransaction(policy);
    const applyMs: number[] = [];
    const nftMs: number[] = [];
    for (let r = 0, used = 0; r < spec.repeats && (r === 0 || used < BUDGET_MS); r++) {
      applyMs.push(await timed(() => applyPolicy(policy)));
      nftMs.push(await timed(() => runTool(tools.nft, ['-f', '-'], text)));
      used += applyMs.at(-1)! + nftMs.at(-1)!;
    }
    sizes.push({ apps: n, applyMs, nftMs, rulesetBytes: Buffer.byteLength(text), rttUs: await echoRttUs(2000) });
  }
  process.stdout.write(`${JSON.stringify({ sizes, bareRttUs })}\n`);
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
  process.exit(1);
});
