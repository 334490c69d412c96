import { cgroupRoot } from '../../cgroups/index.js';
import type { Command } from '../cli/args.js';
import { FAULTS } from '../demo/faults.js';
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
  const progress = (line: string): void => { if (!cmd.json) process.stderr.write(`… ${line}\n`); };
  if (removed.length) progress(`removed a leftover lab from an earlier run: ${removed.join(', ')}`);
  progress('building the lab: client, ISP router, VPN server (wireguard-go), internet host');
  const lab = await createLab({ mode: 'app-only' });
  let keep = cmd.keep;
  try {
    const report = await runScenario(lab, { faults: FAULTS, cgroupRoot: await cgroupRoot(), progress });
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
    if (!keep) await lab.destroy();
  }
}
