import type { Command } from '../cli/args.js';
import { DaemonClient } from '../ipc/client.js';
import type { Status } from '../ipc/protocol.js';
import { socketPathFrom } from '../ipc/socket-path.js';

type StatusCommand = Extract<Command, { kind: 'status' | 'doctor' }>;

const age = (ms: number | null): string => (ms === null ? '-' : ms < 1000 ? `${Math.round(ms)}ms` : `${Math.round(ms / 1000)}s`);

/** Formats a status as a compact table (pure). */
export function formatStatus(s: Status): string {
  const t = s.tunnel;
  const lines = [
    `tunnel ${t.interface}: ${t.state.toUpperCase()} since ${t.since} (${t.reason}); handshake ${age(t.handshakeAgeMs)} ago; probe rtt ${age(t.probeRttMs)}; last reaction ${t.lastReactionMs === null ? '-' : `${t.lastReactionMs.toFixed(1)}ms`}`,
  ];
  if (s.config.error) lines.push(`config error (last good config still in force): ${s.config.error}`);
  if (s.apps.length === 0) return [...lines, 'no protected apps'].join('\n');
  const head = ['NAME', 'STATE', 'POLICY', 'USER', 'PIDS', 'TUNNEL PKTS', 'DROPPED'];
  const rows = s.apps.map((a) => [a.name, a.state, a.policy, a.user, String(a.pids.length), String(a.packets.tunnel), String(a.packets.dropped)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [...lines, fmt(head), ...rows.map(fmt), ...s.apps.flatMap(directLine), ...s.apps.flatMap(forwardedLine)].join('\n');
}

/** The traffic this host routes for an app (a container's, a VM's, LAN hosts'), and which container it is (pure). */
function forwardedLine(a: Status['apps'][number]): string[] {
  if (!a.forwarded?.length) return [];
  const from = a.forwarded.map((f) => `${[...f.v4, ...f.v6, ...(f.macs ?? [])].join(', ') || 'everything'} on ${f.iface}`).join('; ');
  return [`${a.name}${a.container ? ` (${a.container.runtime} container ${a.container.name})` : ''} routes through the tunnel: ${from}`];
}

/** What an app reaches outside the tunnel, names with the addresses they resolve to now (pure). */
function directLine(a: Status['apps'][number]): string[] {
  if (!a.allow?.length) return [];
  const named = new Map((a.allowNames ?? []).map((n) => [n.name, n.addresses.map((x) => x.address)]));
  const shown = a.allow.map((entry) => {
    const addrs = named.get(entry);
    return addrs === undefined ? entry : `${entry} (${addrs.length ? addrs.join(', ') : 'no address now'})`;
  });
  return [`${a.name} reaches directly, outside the tunnel: ${shown.join(', ')}`];
}

/** `ksapp status [--json]`. */
export async function statusCommand(cmd: StatusCommand): Promise<number> {
  const client = await DaemonClient.connect(socketPathFrom(cmd.socket));
  try {
    const status = await client.request<Status>({ op: 'status' });
    process.stdout.write(cmd.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
    return 0;
  } finally {
    client.close();
  }
}
