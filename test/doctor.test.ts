// `ksapp doctor` on this machine, in a network namespace of its own (unshare --net) so that nothing it
// looks at is the machine's own firewall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execa } from 'execa';
import { ruleChecks } from '../src/commands/doctor.js';
import { CLI_PATH } from '../src/demo/ksapp-process.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;

test('doctor: every prerequisite named; outside the first network namespace it says config rules fall back to scanning /proc', { skip }, async () => {
  const res = await execa('unshare', ['--net', '--', process.execPath, CLI_PATH, 'doctor'], { reject: false });
  const out = String(res.stdout);
  assert.equal(res.exitCode, 0, `${out}\n${String(res.stderr)}`);
  for (const name of ['nft', 'ip', 'wg', 'cgroup2 mount', 'nft socket cgroupv2', 'local resolvers', 'socket marking']) {
    assert.match(out, new RegExp(`^\\[(ok  |warn)\\] ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm'), name);
  }
  assert.match(out, /^\[ok  \] socket marking: /m);
  assert.match(out, /^\[warn\] exec events: process-events connector unavailable .*scan \/proc every 100 ms instead$/m);
});

test("the running daemon's config rules: guarded at exec or by their unit is fine, a window is a warning naming why", () => {
  const checks = ruleChecks([
    { app: 'qb', guard: 'exec' },
    { app: 'dl', guard: 'unit', why: 'dl.service is protected by its drop-in' },
    { app: 'web', guard: 'after-start', why: 'config.yaml:9: the rule names no exe' },
  ]);
  assert.deepEqual(checks.map((c) => [c.name, c.ok, c.optional]), [['rule qb', true, true], ['rule dl', true, true], ['rule web', false, true]]);
  assert.match(checks[2]!.detail, /config\.yaml:9: the rule names no exe: new instances run unprotected until adopted/);
});
