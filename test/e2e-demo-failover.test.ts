// End-to-end: the demo's failover in a lab with two VPN servers. An app started with the
// order (first tunnel, second tunnel) keeps working through the second server while the
// first is dead, leaks nothing, and goes back when the first returns. Positive control: an
// unprotected sender gets through from the client's own address all along, so the same
// detector would have seen a leak.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { cgroupRoot } from '../cgroups/index.js';
import { tally } from '../src/demo/classify.js';
import { formatReport } from '../src/demo/report.js';
import { runScenario } from '../src/demo/scenario.js';
import { createLab, fixturePath, type Lab } from '../src/lab/index.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
let lab: Lab;
before(async () => {
  if (skip) return;
  lab = await createLab({ mode: 'app-only', tunnels: 2 });
});
after(async () => {
  await lab?.destroy();
});

test('failover: through the second server while the first is dead, nothing leaked, back when it returns', { skip, timeout: 120_000 }, async () => {
  const control = `ksc${lab.suffix}`;
  const [enter, ...enterArgs] = lab.nsenterArgs('client');
  const free = spawn(enter!, [...enterArgs, process.execPath, fixturePath('sender.mjs'), '--tag', control, '--to', lab.addr.internet4, '--interval', '50'], { stdio: 'ignore' });
  const t0 = Date.now();
  let report;
  try {
    report = await runScenario(lab, { faults: [], cgroupRoot: await cgroupRoot() });
  } finally {
    free.kill('SIGTERM');
  }
  const f = report.failover;
  assert.ok(f, 'a lab with two tunnels runs the failover');
  const why = JSON.stringify({ f, problems: report.problems });
  assert.deepEqual(f.tunnels, [lab.tunnel.clientIface, lab.tunnel2!.clientIface]);
  assert.equal(f.leaked, 0, `leaked from the client's address: ${why}`);
  assert.equal(f.ispDns, 0, `DNS reached the ISP: ${why}`);
  assert.ok(f.viaFirst > 0 && f.viaSecond > 0, `through both servers: ${why}`);
  assert.ok(f.moved && f.movedBack, `moved and moved back: ${why}`);
  assert.ok(f.gapMs !== null && f.gapMs > 0 && f.backGapMs !== null, `gaps measured: ${why}`);
  assert.ok(f.frozenMs !== null && f.detectMs !== null && f.detectMs >= 0, `the move's freeze seen: ${why}`);
  assert.ok(f.dnsViaSecond > 0, `the second tunnel's resolver answered its lookups: ${why}`);
  assert.ok(f.cleanedUp && f.ok && report.ok, why);
  assert.deepEqual(Object.keys(report), ['mode', 'vpn', 'started', 'faults', 'failover', 'totals', 'cleanedUp', 'ok', 'problems']);
  assert.match(formatReport(report), /failover \(first tunnel fails\)[\s\S]*RESULT: PASS/);
  // The control: the same detector sees the unprotected sender from the client's own address during the failover.
  assert.ok(tally(await lab.received(), lab, control, t0).fromClient > 0);
});
