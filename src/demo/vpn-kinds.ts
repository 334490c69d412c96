// The VPN clients the demo can show ksapp with (`ksapp demo --vpn KIND`): the lab's own wireguard-go
// pair, wg-quick (full tunnel, its fwmark, rules and nft table) and OpenVPN (redirect-gateway def1).
// Each gives the tunnel ksapp watches and the faults that fit it.
import { OPENVPN, pingFrom, removeLabClient, startOpenvpn, wgQuickClient, type Lab } from '../lab/index.js';
import { FAULTS, faultById, type FaultSpec } from './faults.js';

/** The kinds `--vpn` takes. */
export const VPN_KINDS = ['wireguard', 'wg-quick', 'openvpn'] as const;
/** One kind of VPN client. */
export type VpnKind = (typeof VPN_KINDS)[number];

/** A VPN client running in the lab: what ksapp watches, and how to break it. */
export interface VpnSetup {
  readonly kind: VpnKind;
  /** How the report names it. */
  readonly label: string;
  /** Every program's traffic rides it (not only protected apps'), so an unprotected one is cut with it. */
  readonly fullTunnel: boolean;
  /** The config's tunnel lines for this client (interface, probe, resolvers). */
  readonly tunnelLines: readonly string[];
  readonly faults: readonly FaultSpec[];
  /** Takes the client down again (ksapp gone first). */
  stop(): Promise<void>;
}

/** Starts the VPN client of this kind in a running lab (for wireguard, the lab's own). */
export async function setUpVpn(kind: VpnKind, lab: Lab): Promise<VpnSetup> {
  if (kind === 'wireguard') return { kind, label: 'wireguard-go', fullTunnel: false, tunnelLines: tunnelLines(lab.tunnel.clientIface, lab.tunnel.server4), faults: FAULTS, stop: async () => undefined };
  if (kind === 'wg-quick') return wgQuick(lab);
  const vpn = await startOpenvpn(lab);
  const block = (verb: 'add' | 'delete'): Promise<string> => verb === 'add'
    ? lab.exec('isp', ['nft', 'add', 'rule', 'inet', 'ksl_isp', 'faults', 'udp', 'dport', String(OPENVPN.port), 'drop'])
    : lab.exec('isp', ['nft', 'flush', 'chain', 'inet', 'ksl_isp', 'faults']);
  return {
    kind, label: 'OpenVPN (redirect-gateway def1)', fullTunnel: true, tunnelLines: tunnelLines(vpn.clientIface, OPENVPN.server4), stop: () => vpn.stop(),
    faults: [
      { id: 'server-killed', label: 'OpenVPN server killed (silent death)', tunnelFails: true, inject: () => vpn.killServer(), repair: async () => { await vpn.startServer(); await vpn.waitUp(); } },
      { id: 'client-restarted', label: 'OpenVPN client restarted (tun recreated)', tunnelFails: true, inject: () => vpn.stopClient(), repair: () => vpn.startClient() },
      { id: 'port-blocked', label: "server's UDP port blocked on the path", tunnelFails: true, inject: async () => { await block('add'); }, repair: async () => { await block('delete'); await vpn.waitUp(); } },
      faultById('route-around'),
    ],
  };
}

function tunnelLines(iface: string, probe: string): string[] {
  return ['tunnel:', `  interface: ${iface}`, `  probe: { address: ${probe}, interval: 300ms, failures: 3 }`, `dns: { servers: [${probe}] }`];
}

/** wg-quick in place of the lab's client: same keys, name and port, full tunnel (AllowedIPs everything). */
async function wgQuick(lab: Lab): Promise<VpnSetup> {
  const iface = lab.tunnel.clientIface;
  await removeLabClient(lab);
  const client = wgQuickClient(lab, 'wg-quick');
  const up = async (): Promise<void> => {
    await client.up();
    await pingFrom(lab.ns.client, lab.tunnel.server4, 20, iface);
  };
  await up();
  return {
    kind: 'wg-quick', label: 'wg-quick (full tunnel)', fullTunnel: true, tunnelLines: tunnelLines(iface, lab.tunnel.server4), stop: () => client.down().catch(() => undefined),
    faults: [
      { id: 'wg-quick-down', label: '`wg-quick down`, then `up` (interface recreated)', tunnelFails: true, inject: () => client.down(), repair: up },
      faultById('server-killed'), faultById('port-blocked'), faultById('route-around'),
    ],
  };
}
