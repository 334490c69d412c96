// Renewing an app's tracked connections: its route and NAT are decided when a
// connection is first seen, so a flow that an allowlist change moves between
// the tunnel and the direct path must start a new conntrack entry.
import type { Cgroup } from '../../cgroups/index.js';
import { runTool, tools } from '../tools.js';
import { heldSockets } from './sockets.js';
import { listSockets, type SsSocket } from './ss.js';

/** The conntrack filters that select the flows of these sockets, by local endpoint (pure); a wildcard socket by its port alone. */
export function flowFilters(sockets: readonly SsSocket[]): string[][] {
  const seen = new Set<string>();
  const filters: string[][] = [];
  for (const s of sockets) {
    if (s.local.port === 0) continue;
    const wildcard = s.local.addr === '0.0.0.0' || s.local.addr === '::' || s.local.addr === '*';
    // A dual-stack wildcard socket (`*`, or `::` without v6only) sends IPv4 as well.
    const families = wildcard && s.family === 6 ? ['ipv4', 'ipv6'] : [s.family === 6 ? 'ipv6' : 'ipv4'];
    for (const family of families) {
      const filter = ['-D', '-f', family, '-p', s.netid, ...(wildcard ? [] : ['--orig-src', s.local.addr]), '--orig-port-src', String(s.local.port)];
      const key = filter.join(' ');
      if (!seen.has(key)) filters.push(filter);
      seen.add(key);
    }
  }
  return filters;
}

/** Forgets the tracked connections of every TCP/UDP socket the group's processes hold; best effort (a flow left keeps its old path). */
export async function renewFlows(group: Cgroup): Promise<void> {
  const pids = await group.pids().catch(() => []);
  if (pids.length === 0) return;
  const held = await heldSockets(pids);
  if (held.size === 0) return;
  const sockets = (await listSockets(pids[0]!).catch(() => [])).filter((s) => held.has(s.inode) && s.state !== 'LISTEN');
  await Promise.all(flowFilters(sockets).map((args) => runTool(tools.conntrack, args).catch(() => undefined)));
}
