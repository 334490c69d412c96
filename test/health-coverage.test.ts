// Which health sources each tunnel kind has, and what `status` and `doctor` tell the user to add (pure).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tunnelChecks } from '../src/commands/doctor.js';
import type { TunnelStatus } from '../src/ipc/protocol.js';
import { healthCoverage } from '../src/monitor/index.js';

test('WireGuard has a handshake age; OpenVPN (tun) has none: without a probe each is told what to add', () => {
  assert.deepEqual(healthCoverage('wg0', 'wireguard-go', ['link', 'handshake', 'probe']), { sources: ['link', 'handshake', 'probe'] });
  assert.match(healthCoverage('wg0', 'wireguard', ['link', 'handshake']).advice ?? '', /handshake grows older than handshakeTimeout .* add `probe: \{ address: ADDR \}` under the tunnel wg0/);
  assert.match(healthCoverage('tun0', 'tun', ['link']).advice ?? '', /tun tunnel \(OpenVPN and the like\) has no handshake age: a silent server death is never seen without a probe/);
  assert.equal(healthCoverage('tun0', 'tun', ['link', 'probe']).advice, undefined);
  assert.match(healthCoverage('wg1', null, ['link']).advice ?? '', /not known yet/);
});

test('doctor: one line per watched tunnel, a warning where a silent failure would go unseen', () => {
  const t = (iface: string, extra: Partial<TunnelStatus>): TunnelStatus => ({
    interface: iface, state: 'up', since: '', reason: '', handshakeAgeMs: null, probeRttMs: null, lastReactionMs: null, ...extra,
  });
  const checks = tunnelChecks({ tunnel: t('wg0', {}), tunnels: [
    { ...t('wg0', { kind: 'wireguard-go', sources: ['link', 'handshake', 'probe'] }), apps: [] },
    { ...t('tun0', { kind: 'tun', sources: ['link'], advice: 'add a probe' }), apps: [] },
  ] });
  assert.deepEqual(checks.map((c) => [c.name, c.ok, c.detail]), [
    ['tunnel wg0', true, 'wireguard-go, watched by link, handshake, probe'],
    ['tunnel tun0', false, 'tun, watched by link: add a probe'],
  ]);
  assert.deepEqual(tunnelChecks({ tunnel: t('wg0', {}) }), [], 'an older daemon says nothing of its sources');
});
