import { runTool, tools } from '../tools.js';

/** A socket's protocol and local endpoint, as ss prints it (`1.2.3.4:5`, `[fd00::1]:5`). */
export interface FlowSocket {
  readonly kind: string;
  readonly local?: string | undefined;
}

/** Splits `addr:port` / `[v6]:port` (pure); undefined for wildcard or unparsable endpoints. */
export function parseLocal(local: string): { addr: string; port: number } | undefined {
  const m = /^\[?([0-9a-fA-F.:]+?)\]?:(\d+)$/.exec(local.replace(/%\S+(?=\]?:)/, ''));
  if (!m || m[1] === '0.0.0.0' || m[1] === '::' || m[1] === '*') return undefined;
  return { addr: m[1]!, port: Number(m[2]) };
}

/**
 * Forgets the tracked connections carrying a mark (an app that moved to
 * another tunnel: its old flows' NAT and route were the old tunnel's, and
 * would keep its packets there). Best effort, like forgetFlows.
 */
export async function forgetMarked(marks: readonly number[]): Promise<void> {
  // At once: the apps wait frozen for this.
  await Promise.all(marks.flatMap((mark) => ['ipv4', 'ipv6'].map((family) =>
    runTool(tools.conntrack, ['-D', '-f', family, '--mark', String(mark)]).catch(() => undefined))));
}

/**
 * Forgets the connection-tracking entries of sockets that existed before their
 * app was protected. NAT is decided when an entry is created, so an old flow
 * rerouted into the tunnel would keep the physical source address and be
 * refused by the VPN server; a fresh entry gets the tunnel's. (TCP connections
 * still break — their address changes — UDP flows carry on.) Best effort:
 * without the conntrack tool the flows stay blocked, never leaked.
 */
export async function forgetFlows(sockets: readonly FlowSocket[]): Promise<number> {
  let forgotten = 0;
  for (const s of sockets) {
    const local = s.local === undefined ? undefined : parseLocal(s.local);
    if (!local || (s.kind !== 'tcp' && s.kind !== 'udp')) continue;
    const family = local.addr.includes(':') ? 'ipv6' : 'ipv4';
    try {
      await runTool(tools.conntrack, ['-D', '-f', family, '-p', s.kind, '--orig-src', local.addr, '--orig-port-src', String(local.port)]);
      forgotten++;
    } catch {
      // exit 1 when no entry matched; a missing tool is reported by `ksapp doctor`
    }
  }
  return forgotten;
}
