import type { Lab } from '../lab/index.js';

/** A fault the demo injects, with its repair and what ksapp must do about it. */
export interface FaultSpec {
  readonly id: string;
  readonly label: string;
  readonly inject: (lab: Lab) => Promise<void>;
  readonly repair: (lab: Lab) => Promise<void>;
  /** True when the tunnel really fails, so protected apps must be frozen. */
  readonly tunnelFails: boolean;
}

/** Every fault the demo and the e2e suite run, in order. */
export const FAULTS: readonly FaultSpec[] = [
  { id: 'tunnel-deleted', label: 'tunnel interface deleted', tunnelFails: true,
    inject: (l) => l.faults.deleteTunnel(), repair: (l) => l.faults.restoreTunnel() },
  { id: 'tunnel-down', label: 'tunnel interface set down', tunnelFails: true,
    inject: (l) => l.faults.setTunnelDown(), repair: (l) => l.faults.setTunnelUp() },
  { id: 'address-removed', label: 'tunnel address removed', tunnelFails: true,
    inject: (l) => l.faults.removeTunnelAddress(), repair: (l) => l.faults.restoreTunnelAddress() },
  { id: 'server-killed', label: 'VPN server killed (silent death)', tunnelFails: true,
    inject: (l) => l.faults.killServer(), repair: (l) => l.faults.restartServer() },
  { id: 'port-blocked', label: "server's UDP port blocked on the path", tunnelFails: true,
    inject: (l) => l.faults.blockServerPort(), repair: (l) => l.faults.unblockServerPort() },
  { id: 'route-around', label: 'more specific route around the tunnel', tunnelFails: false,
    inject: (l) => l.faults.addRouteAround(l.addr.internet4, l.addr.internet6), repair: (l) => l.faults.removeRouteAround() },
];

/** Looks a fault up by id. */
export function faultById(id: string): FaultSpec {
  const fault = FAULTS.find((f) => f.id === id);
  if (!fault) throw new Error(`unknown fault ${id}`);
  return fault;
}
