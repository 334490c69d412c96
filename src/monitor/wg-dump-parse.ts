// Pure parser of `wg show IFACE dump` (tab-separated). The interface line carries the
// private key; it is dropped here on purpose so it never travels further in ksapp.
import { MonitorError } from './errors.js';

/** One WireGuard peer as `wg show dump` reports it. */
export interface WgPeer {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  /** Epoch seconds of the latest handshake; 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  /** Persistent keepalive in seconds; null when off. */
  keepalive: number | null;
}

/** The interface part of a dump (without the private key) and its peers. */
export interface WgDump {
  publicKey: string;
  listenPort: number | null;
  fwmark: string | null;
  peers: WgPeer[];
}

const none = (v: string | undefined): string | null => (v === undefined || v === '(none)' || v === 'off' ? null : v);

/** Parses the output of `wg show IFACE dump`; throws MonitorError when it is not one. */
export function parseWgDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines.shift()?.split('\t');
  if (!head || head.length !== 4) {
    throw new MonitorError('unexpected `wg show dump` output: no interface line', { code: 'MONITOR_WG_PARSE', userFixable: false });
  }
  const peers = lines.map((line, i) => {
    const f = line.split('\t');
    const handshake = Number(f[4]);
    if (f.length !== 8 || !Number.isInteger(handshake)) {
      throw new MonitorError(`unexpected \`wg show dump\` peer line ${i + 2}: ${f.length} fields`, {
        code: 'MONITOR_WG_PARSE', userFixable: false,
      });
    }
    const keepalive = none(f[7]);
    return {
      publicKey: f[0] ?? '',
      endpoint: none(f[2]),
      allowedIps: (none(f[3]) ?? '').split(',').filter(Boolean),
      latestHandshake: handshake,
      rxBytes: Number(f[5]),
      txBytes: Number(f[6]),
      keepalive: keepalive === null ? null : Number(keepalive),
    };
  });
  const port = Number(head[2]);
  return { publicKey: head[1] ?? '', listenPort: port > 0 ? port : null, fwmark: none(head[3]), peers };
}

/** Age in ms of the newest handshake over all peers at `nowMs`; null when no peer ever shook hands. */
export function newestHandshakeAgeMs(dump: WgDump, nowMs: number): number | null {
  const newest = Math.max(0, ...dump.peers.map((p) => p.latestHandshake));
  return newest === 0 ? null : Math.max(0, nowMs - newest * 1000);
}

/** Decides handshake health: healthy only when some peer shook hands within `timeoutMs` (stable reasons: the age itself is reported apart). */
export function handshakeHealth(ageMs: number | null, peers: number, timeoutMs: number): { healthy: boolean; reason: string } {
  if (peers === 0) return { healthy: false, reason: 'WireGuard interface has no peers' };
  if (ageMs === null) return { healthy: false, reason: 'no WireGuard handshake with any peer yet' };
  if (ageMs > timeoutMs) {
    return { healthy: false, reason: `latest WireGuard handshake older than ${Math.round(timeoutMs / 1000)} s` };
  }
  return { healthy: true, reason: `WireGuard handshake within ${Math.round(timeoutMs / 1000)} s` };
}
