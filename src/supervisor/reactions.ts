import { ensureRouting, ROUTE_TABLE, routeIntoTunnel } from '../firewall/index.js';
import { onTunnelDown, onTunnelUp } from './policies.js';
import type { Supervisor } from './supervisor.js';
import type { RouteChange, TunnelTransition } from './types.js';

/** Applies every app's policy on a tunnel transition and records how long the reaction took. */
export async function reactToTransition(sup: Supervisor, t: TunnelTransition): Promise<void> {
  if (t.state === sup.tunnel.state) return;
  sup.tunnel = { state: t.state, since: t.at, reason: t.reason };
  const started = t.detectedAt ?? process.hrtime.bigint();
  const apps = [...sup.apps.values()];
  try {
    if (t.state === 'down') {
      await onTunnelDown(sup, apps);
    } else {
      // The kernel dropped our tunnel route with the interface; it must be back before anything thaws.
      await routeIntoTunnel(sup.options.tunnelIface).catch((error: unknown) => sup.record({ type: 'error', detail: String(error) }));
      await onTunnelUp(sup, apps);
    }
  } catch (error) {
    sup.record({ type: 'error', detail: String(error) });
  }
  const reactionMs = Number(process.hrtime.bigint() - started) / 1e6;
  sup.record({ type: t.state === 'down' ? 'tunnel-down' : 'tunnel-up', detail: t.reason, reactionMs });
}

/**
 * Our routing table is ours alone: when something removes the tunnel route
 * or the unreachable fallback while the tunnel is up, put it back (while it
 * is missing, protected packets are unroutable — blocked, not leaked).
 */
export async function reactToRoute(sup: Supervisor, r: RouteChange): Promise<void> {
  if (!r.deleted || r.table !== String(ROUTE_TABLE) || r.dst !== 'default' || sup.tunnel.state !== 'up') return;
  try {
    if (r.type === 'unreachable') await ensureRouting(null);
    else await routeIntoTunnel(sup.options.tunnelIface);
    sup.record({ type: 'route-restored', detail: `${r.type} default route in table ${ROUTE_TABLE}` });
  } catch {
    // The interface itself is going away: the link source reports that as a transition.
  }
}
