// The VPN clients the demo can show ksapp with (`ksapp demo --vpn KIND`): the lab's own wireguard-go
// pair, wg-quick (full tunnel, its fwmark, rules and nft table) and OpenVPN (redirect-gateway def1).
// Each gives the tunnel ksapp watches and the faults that fit it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OPENVPN, startOpenvpn, type Lab } from '../lab/index.js';
import { runTool, tools } from '../tools.js';
import { FAULTS, faultById, type FaultSpec } from './faults.js';
import { waitUntil } from './wait.js';

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
  await faultById('tunnel-deleted').inject(lab);
  await waitUntil(async () => !(await lab.exec('client', ['ss', '-Hulpn', 'sport = :51821'])).trim(), 10_000, 20);
  const dir = path.join(lab.dir, 'wg-quick');
  await runTool('mkdir', ['-p', dir]);
  const conf = path.join(dir, `${iface}.conf`);
  const serverPub = (await runTool(tools.wg, ['pubkey'], await readFile(path.join(lab.dir, 'server.key'), 'utf8'))).trim();
  await writeFile(conf, [
    '[Interface]', `PrivateKey = ${(await readFile(path.join(lab.dir, 'client.key'), 'utf8')).trim()}`,
    `Address = ${lab.tunnel.client4}/24, ${lab.tunnel.client6}/64`, 'ListenPort = 51821',
    '[Peer]', `PublicKey = ${serverPub}`, `Endpoint = ${lab.addr.vpnPublic4}:51820`, 'AllowedIPs = 0.0.0.0/0, ::/0', 'PersistentKeepalive = 1', '',
  ].join('\n'), { mode: 0o600 });
  const wgq = (action: 'up' | 'down'): Promise<string> => lab.exec('client', ['env', 'WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go', 'wg-quick', action, conf]);
  await wgq('up');
  const answers = (): Promise<boolean> => waitUntil(async () => lab.exec('client', ['ping', '-c1', '-W1', '-I', iface, lab.tunnel.server4]).then(() => true, () => false), 20_000, 100);
  await answers();
  const byId = (id: string): FaultSpec => faultById(id);
  return {
    kind: 'wg-quick', label: 'wg-quick (full tunnel)', fullTunnel: true, tunnelLines: tunnelLines(iface, lab.tunnel.server4), stop: async () => { await wgq('down').catch(() => undefined); },
    faults: [
      { id: 'wg-quick-down', label: '`wg-quick down`, then `up` (interface recreated)', tunnelFails: true, inject: async () => { await wgq('down'); }, repair: async () => { await wgq('up'); await answers(); } },
      byId('server-killed'), byId('port-blocked'), byId('route-around'),
    ],
  };
}
