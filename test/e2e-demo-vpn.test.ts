// `ksapp demo --vpn KIND`'s scenario over the VPN clients people use: wg-quick (full tunnel) and OpenVPN
// (redirect-gateway def1), each with the faults that fit it. Zero leaks; every fault freezes and thaws.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { cgroupRoot } from '../cgroups/index.js';
import { runScenario } from '../src/demo/scenario.js';
import { setUpVpn, type VpnKind } from '../src/demo/vpn-kinds.js';
import { createLab } from '../src/lab/index.js';
import { removeTestGroups } from './helpers/ksapp.js';

const root = process.getuid?.() === 0 ? await cgroupRoot().catch(() => undefined) : undefined;
const skipFor = (kind: VpnKind): string | false => (root === undefined ? 'needs root and cgroup2'
  : kind === 'openvpn' && !existsSync('/usr/sbin/openvpn') ? 'openvpn is not installed (apt-get install openvpn)' : false);

for (const kind of ['wg-quick', 'openvpn'] as const) {
  test(`demo --vpn ${kind}: nothing leaks through any of its faults, each one freezes and thaws the app`, { skip: skipFor(kind), timeout: 120_000 }, async () => {
    const lab = await createLab({ mode: 'app-only' });
    const vpn = await setUpVpn(kind, lab).catch(async (error: unknown) => { await lab.destroy(); throw error; });
    try {
      const report = await runScenario(lab, { faults: vpn.faults, cgroupRoot: root!, vpn });
      assert.equal(report.vpn, vpn.label);
      assert.deepEqual(report.problems, []);
      assert.equal(report.totals.leaked, 0);
      assert.equal(report.totals.ispDns, 0);
      for (const f of report.faults) {
        assert.equal(f.leaked, 0, `${f.label}: leaked`);
        assert.notEqual(f.froze, false, `${f.label}: frozen`);
        assert.ok(f.thawed && f.resumed, `${f.label}: thawed and sending through the tunnel again`);
      }
      assert.equal(report.ok, true);
    } finally {
      await vpn.stop();
      await removeTestGroups(lab);
      await lab.destroy();
    }
  });
}
