// Faults injected on demand, each with its repair. Each repair waits until the
// tunnel carries traffic again, so a test can assert right after it returns.
import { LabError } from './errors.js';
import type { Lab } from './lab.js';
import { ipBatch, nftIn } from './netns.js';
import { blockPortRules } from './rulesets.js';
import { restoreClientConfig, startClient, startServer, stopPid, waitTunnel, type TunnelState } from './tunnel.js';

/** The faults of one tunnel (the first, or the opt-in second), and their repairs. */
export interface TunnelFaults {
  /** Deletes the client's tunnel interface (`ip link del`), then ends its now useless wireguard-go. */
  deleteTunnel(): Promise<void>;
  /** Starts a new client wireguard-go with the same keys, addresses and routes; waits for a handshake. */
  restoreTunnel(): Promise<void>;
  /** `ip link set IFACE down` on the client (the kernel also drops its IPv6 address and routes). */
  setTunnelDown(): Promise<void>;
  /** Brings the client interface up with its addresses and routes; waits for a ping through it. */
  setTunnelUp(): Promise<void>;
  /** Removes the client tunnel's IPv4 and IPv6 addresses. */
  removeTunnelAddress(): Promise<void>;
  /** Puts the addresses (and the mode's routes) back; waits for a ping through the tunnel. */
  restoreTunnelAddress(): Promise<void>;
  /** SIGKILLs the server's wireguard-go: a silent death, nothing tells the client. */
  killServer(): Promise<void>;
  /** Starts the server again with the same keys; waits for a fresh handshake. */
  restartServer(): Promise<void>;
}

/** The faults a lab can inject, and their repairs: the first tunnel's and the path's. */
export interface Faults extends TunnelFaults {
  /** Drops the (first) server's UDP port on the ISP router, both directions. */
  blockServerPort(): Promise<void>;
  /** Lifts the block and waits for the tunnel to carry traffic. */
  unblockServerPort(): Promise<void>;
  /** Adds host routes in the client's main table that send these destinations past the tunnel via the ISP. */
  addRouteAround(dst4: string, dst6?: string): Promise<void>;
  /** Removes every route addRouteAround added. */
  removeRouteAround(): Promise<void>;
}

/** Binds the faults of one tunnel to its state. */
export function tunnelFaults(s: TunnelState): TunnelFaults {
  const p = s.plan;
  const { clientIface: kc, serverIface: ks, client4, client6 } = s.spec.ends;
  const tunnelUp = async () => {
    await restoreClientConfig(s);
    await waitTunnel(s, kc);
  };
  return {
    async deleteTunnel() {
      await ipBatch(p.ns.client, [`link del ${kc}`]);
      await stopPid(s.clientPid); // wireguard-go outlives its deleted TUN; end it so the name can be reused
      s.clientPid = undefined;
    },
    async restoreTunnel() {
      await stopPid(s.clientPid);
      await startClient(s);
      await waitTunnel(s, kc);
    },
    async setTunnelDown() {
      await ipBatch(p.ns.client, [`link set ${kc} down`]);
    },
    setTunnelUp: tunnelUp,
    async removeTunnelAddress() {
      await ipBatch(p.ns.client, [`addr del ${client4}/24 dev ${kc}`, `addr del ${client6}/64 dev ${kc}`]);
    },
    restoreTunnelAddress: tunnelUp,
    async killServer() {
      await stopPid(s.serverPid, 2000, 'SIGKILL');
      s.serverPid = undefined;
    },
    async restartServer() {
      await stopPid(s.serverPid);
      await startServer(s);
      await waitTunnel(s, ks);
    },
  };
}

/** Binds the faults to one lab: its first tunnel's state (the path faults act on that tunnel). */
export function faultsFor(s: TunnelState): Faults {
  const p = s.plan;
  const around: string[] = [];
  return {
    ...tunnelFaults(s),
    async blockServerPort() {
      await nftIn(p.ns.isp, blockPortRules());
    },
    async unblockServerPort() {
      await nftIn(p.ns.isp, 'flush chain inet ksl_isp faults\n');
      // WireGuard retries its handshake every 5 s: the ping below waits long enough for one.
      await waitTunnel(s, s.spec.ends.clientIface);
    },
    async addRouteAround(dst4: string, dst6?: string) {
      const lines = [`route replace ${dst4}/32 via ${p.addr.ispClient4} dev ${p.links.clientIsp}`];
      if (dst6) lines.push(`route replace ${dst6}/128 via ${p.addr.ispClient6} dev ${p.links.clientIsp}`);
      await ipBatch(p.ns.client, lines);
      around.push(...lines.map((l) => l.replace('route replace', 'route del')));
    },
    async removeRouteAround() {
      const lines = around.splice(0);
      // -force: keep going when the kernel already dropped a route (its device went down).
      await ipBatch(p.ns.client, lines, true).catch(() => undefined);
    },
  };
}

/** A second-tunnel fault by id, in the shape of the demo's fault list (a separate list: the default one stays as it is). */
export interface LabFault {
  readonly id: string;
  readonly label: string;
  readonly inject: (lab: Lab) => Promise<void>;
  readonly repair: (lab: Lab) => Promise<void>;
  /** True when that tunnel really fails. */
  readonly tunnelFails: boolean;
}

function second(lab: Lab): TunnelFaults {
  if (!lab.faults2) throw new LabError(`lab ${lab.suffix} has no second tunnel`, 'create it with createLab({ tunnels: 2 })');
  return lab.faults2;
}

/** The second tunnel's faults, for labs created with `tunnels: 2`. */
export const TUNNEL2_FAULTS: readonly LabFault[] = [
  { id: 'tunnel2-deleted', label: 'second tunnel interface deleted', tunnelFails: true,
    inject: (l) => second(l).deleteTunnel(), repair: (l) => second(l).restoreTunnel() },
  { id: 'tunnel2-down', label: 'second tunnel interface set down', tunnelFails: true,
    inject: (l) => second(l).setTunnelDown(), repair: (l) => second(l).setTunnelUp() },
  { id: 'address2-removed', label: 'second tunnel address removed', tunnelFails: true,
    inject: (l) => second(l).removeTunnelAddress(), repair: (l) => second(l).restoreTunnelAddress() },
  { id: 'server2-killed', label: 'second VPN server killed (silent death)', tunnelFails: true,
    inject: (l) => second(l).killServer(), repair: (l) => second(l).restartServer() },
];
