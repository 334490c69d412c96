import { execa } from 'execa';
import type { Lab } from '../lab/index.js';
import { fixturePath } from '../lab/index.js';
import { tally } from './classify.js';
import { runFailover, type FailoverResult } from './failover.js';
import { runFault, type FaultResult } from './fault-run.js';
import { faultById, type FaultSpec } from './faults.js';
import { startProtected, totalSent } from './ksapp-process.js';
import { groupFlags, tableExists, waitUntil } from './wait.js';
import type { VpnSetup } from './vpn-kinds.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export type { FaultResult } from './fault-run.js';
export type { FailoverResult } from './failover.js';

/** The whole demo's outcome. */
export interface DemoReport {
  readonly mode: string;
  /** The VPN client the lab ran (`wireguard-go`, `wg-quick (full tunnel)`, …). */
  readonly vpn: string;
  readonly started: boolean;
  readonly faults: readonly FaultResult[];
  /** The failover app through the first VPN server's death; null in a lab with one tunnel. */
  readonly failover: FailoverResult | null;
  readonly totals: { sent: number; viaTunnel: number; leaked: number; ispDns: number; tunnelDnsAnswered: number };
  readonly cleanedUp: boolean;
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/** Options of runScenario. */
export interface ScenarioOptions {
  readonly faults: readonly FaultSpec[];
  /** What takes the first tunnel away under the failover app (labs with two tunnels); the first server's death by default. */
  readonly failoverFault?: FaultSpec;
  readonly cgroupRoot: string;
  readonly progress?: (line: string) => void;
  /** Another VPN client than the lab's own wireguard-go pair: its tunnel lines go into the config. */
  readonly vpn?: Pick<VpnSetup, 'label' | 'tunnelLines' | 'fullTunnel'>;
}

/**
 * Runs a protected and an unprotected sender in the lab through every fault and measures what
 * leaked; in a lab with two tunnels, then an app with a failover order through the first server's death.
 */
export async function runScenario(lab: Lab, o: ScenarioOptions): Promise<DemoReport> {
  const say = o.progress ?? (() => undefined);
  const ptag = `ksp${lab.suffix}`;
  const cgroupParent = `ksapp-lab-${lab.suffix}`;
  const utag = `ksu${lab.suffix}`;
  const problems: string[] = [];
  const unprotected = execa(lab.nsenterArgs('client')[0]!, [...lab.nsenterArgs('client').slice(1), process.execPath, fixturePath('sender.mjs'),
    '--tag', utag, '--to', lab.addr.internet4, '--to6', lab.addr.internet6, '--interval', '40'], { reject: false, stdin: 'ignore' });
  const config = o.vpn ? path.join(lab.dir, 'demo-vpn.yaml') : undefined;
  if (config) await writeFile(config, [...(o.vpn?.tunnelLines ?? []), `cgroupParent: ${cgroupParent}`, ''].join('\n'));
  const run = await startProtected(lab, {
    name: `demo-${lab.suffix}`, tag: ptag, cgroupRoot: o.cgroupRoot, cgroupParent,
    senderArgs: ['--dns', `${ptag}.test`, '--fork-depth', '2'], ...(config ? { config } : {}),
  });
  const results: FaultResult[] = [];
  let started = false;
  try {
    say('starting a protected and an unprotected app');
    started = await waitUntil(async () => {
      const t = tally(await lab.received(), lab, ptag);
      const u = tally(await lab.received(), lab, utag);
      // Under a full-tunnel VPN the unprotected app rides it too: seen at all is enough.
      return t.viaTunnel > 0 && (o.vpn?.fullTunnel ? u.viaTunnel + u.fromClient > 0 : u.fromClient > 0);
    }, 20_000, 100);
    if (!started) problems.push('the protected app never got traffic through the tunnel (see the lab logs)');
    for (const fault of started ? o.faults : []) {
      say(`fault: ${fault.label}`);
      const r = await runFault(lab, run, fault, utag, o.vpn?.fullTunnel ?? false);
      results.push(r);
      const u = tally(await lab.received(), lab, utag);
      say(`  internet host saw — protected app: ${r.viaTunnel} via the tunnel, ${r.leaked} from the client's own address` +
        `${r.froze ? `; frozen in ${r.detectMs} ms` : ''}; unprotected app: ${u.fromClient} so far, from the client's address`);
    }
  } finally {
    const status = await run.stop();
    unprotected.kill('SIGTERM');
    await unprotected;
    if (status !== 0) problems.push(`ksapp run exited with status ${status} (expected the app's 0)`);
  }
  const records = await lab.received();
  const all = tally(records, lab, ptag);
  const final = await run.counters();
  // The daemon `ksapp run` started leaves once nothing is protected, removing its table.
  const cleanedUp = await waitUntil(async () => (await groupFlags(run.cgroupPath)) === undefined && !(await tableExists(lab)), 5000, 50);
  if (!cleanedUp) problems.push('ksapp left its cgroup or firewall table behind');
  const failover = lab.tunnel2 && started ? await failoverPart(lab, { fault: o.failoverFault ?? faultById('server-killed'), cgroupRoot: o.cgroupRoot, cgroupParent }, problems, say) : null;
  const tunnelDnsAnswered = (await lab.tunnelDnsQueries()).filter((q) => q.tag.includes(ptag)).length;
  const totals = { sent: totalSent(final), viaTunnel: all.viaTunnel, leaked: all.fromClient, ispDns: all.ispDns, tunnelDnsAnswered };
  const ok = started && cleanedUp && problems.length === 0 && totals.leaked === 0 && totals.ispDns === 0 && results.every((r) => r.ok) && failover?.ok !== false;
  return { mode: lab.mode, vpn: o.vpn?.label ?? 'wireguard-go', started, faults: results, failover, totals, cleanedUp: cleanedUp && failover?.cleanedUp !== false, ok, problems };
}

async function failoverPart(lab: Lab, o: Parameters<typeof runFailover>[1], problems: string[], say: (line: string) => void): Promise<FailoverResult> {
  say(`failover: an app with the order ${lab.tunnel.clientIface},${lab.tunnel2?.clientIface ?? '?'} while the first tunnel fails (${o.fault.label})`);
  const { result: f, problems: more } = await runFailover(lab, o);
  problems.push(...more);
  say(`  internet host saw — failover app: ${f.viaFirst} via the first tunnel, ${f.viaSecond} via the second, ${f.leaked} from the client's own address; ` +
    `${f.moved ? `moved${f.gapMs === null ? '' : ` after a ${f.gapMs} ms gap`}` : 'NOT moved'}; ${f.movedBack ? 'moved back' : 'NOT moved back'}`);
  return f;
}
