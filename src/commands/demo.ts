import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Cgroup, cgroupRoot } from '../../cgroups/index.js';
import type { Command } from '../cli/args.js';
import { setUpVpn, type VpnKind, type VpnSetup } from '../demo/vpn-kinds.js';
import { formatReport } from '../demo/report.js';
import { runScenario } from '../demo/scenario.js';
import { KsappError } from '../errors.js';
import { createLab, removeLeftoverLabs } from '../lab/index.js';
import { runChecks } from './doctor-checks.js';
import { formatChecks } from './doctor.js';
import { requireRoot } from './tunnel-check.js';

type DemoCommand = Extract<Command, { kind: 'demo' }>;

/** `ksapp demo`: builds a throwaway lab, drops the tunnel in several ways, reports leaks; 0 only when none. */
export async function demoCommand(cmd: DemoCommand): Promise<number> {
  requireRoot('demo');
  const checks = await runChecks();
  if (checks.some((c) => !c.ok)) {
    process.stderr.write(`${formatChecks(checks)}\n`);
    throw new KsappError('the demo needs every prerequisite above, including wireguard-go', { code: 'DEMO_PREREQ', hint: 'install what is marked FAIL/warn, then run `ksapp demo` again' });
  }
  const removed = await removeLeftoverLabs();
  const root = await cgroupRoot();
  await removeLeftoverGroups(root);
  const progress = (line: string): void => { if (!cmd.json) process.stderr.write(`… ${line}\n`); };
  if (removed.length) progress(`removed a leftover lab from an earlier run: ${removed.join(', ')}`);
  const kind: VpnKind = cmd.vpn ?? 'wireguard';
  // The lab's own wireguard-go pair gets a second server for the failover; another client rides the first alone.
  progress(`building the lab: client, ISP router, ${kind === 'wireguard' ? 'two VPN servers (wireguard-go)' : 'a VPN server'}, internet host`);
  const lab = await createLab({ mode: 'app-only', tunnels: kind === 'wireguard' ? 2 : 1 });
  let keep = cmd.keep;
  let vpn: VpnSetup | undefined;
  try {
    if (kind !== 'wireguard') progress(`starting ${kind} in the lab`);
    vpn = await setUpVpn(kind, lab);
    const report = await runScenario(lab, { faults: vpn.faults, cgroupRoot: root, progress, ...(kind === 'wireguard' ? {} : { vpn }) });
    process.stdout.write(cmd.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    if (keep) {
      process.stderr.write(`lab kept: enter the client with \`nsenter --net=/run/netns/${lab.ns.client} bash\`; ` +
        `remove it with \`ip netns list | grep ${lab.suffix}\` … or simply run \`ksapp demo\` again (it removes leftovers)\n`);
    }
    return report.ok ? 0 : 1;
  } catch (error) {
    keep = false;
    throw error;
  } finally {
    if (!keep) {
      await vpn?.stop();
      await lab.destroy();
      await removeLeftoverGroups(root);
    }
  }
}

/** Removes cgroup parents of demo labs that no longer exist (a crashed or interrupted run leaves them). */
async function removeLeftoverGroups(root: string): Promise<void> {
  const live = new Set((await readdir('/run/netns').catch(() => [])).map((n) => /^ksl-([0-9a-f]{6})-/.exec(n)?.[1]).filter(Boolean));
  for (const entry of await readdir(root).catch(() => [])) {
    const suffix = /^ksapp-lab-([0-9a-f]{6})$/.exec(entry)?.[1];
    if (!suffix || live.has(suffix)) continue;
    const group = Cgroup.open(path.join(root, entry));
    await group.kill().catch(() => undefined);
    await group.remove().catch(() => undefined);
  }
}
