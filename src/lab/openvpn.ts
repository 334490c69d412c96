// OpenVPN in the lab, the way providers hand it out: a server in the vpn namespace, a client in the
// client namespace pulling `redirect-gateway def1 ipv6` (two /1 routes per family, the server's address
// kept on the underlay) and a resolver, keys made here with openssl. Its `tun` device goes and comes
// back with every client restart. Processes are recorded by pid, so the lab's teardown ends them.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool } from '../tools.js';
import { LabError } from './errors.js';
import type { Lab } from './lab.js';
import { execIn, spawnIn } from './netns.js';
import { recordPid } from './state.js';
import { stopPid } from './tunnel.js';

/** The OpenVPN tunnel's addressing (beside the WireGuard tunnel's 10.66/fd66). */
export const OPENVPN = { subnet4: '10.68.0.0/24', subnet6: 'fd68::/64', server4: '10.68.0.1', port: 1194 } as const;

/** A running OpenVPN pair. */
export interface OpenvpnLab {
  /** The client's tun device (the same name across restarts). */
  readonly clientIface: string;
  /** Restarts the client: its tun device is removed and made anew. */
  restartClient(): Promise<void>;
  /** Stops the client (its tun device and routes go), and starts it again (waiting until the tunnel answers). */
  stopClient(): Promise<void>;
  startClient(): Promise<void>;
  /** Waits until the tunnel answers a ping again (after the server is back). */
  waitUp(): Promise<void>;
  /** Kills the server without a word (no exit notification): only keepalives or a probe notice. */
  killServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops both ends. */
  stop(): Promise<void>;
}

const openssl = (args: string[]): Promise<string> => runTool('openssl', args);

/** A CA, and a server and a client certificate it signs (P-256; quick to make). */
async function makeKeys(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = (name: string): string => join(dir, name);
  const req = async (name: 'server' | 'client', usage: 'serverAuth' | 'clientAuth'): Promise<void> => {
    writeFileSync(f(`${name}.ext`), `extendedKeyUsage=${usage}\nkeyUsage=digitalSignature,keyAgreement\n`);
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
    await openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-out', f(`${name}.crt`), '-extfile', f(`${name}.ext`)]);
  };
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=ksapp-lab-ca']);
  await req('server', 'serverAuth');
  await req('client', 'clientAuth');
}

/** Waits until `ping` through the tunnel answers from the client namespace. */
async function waitUp(lab: Lab, iface: string, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    const ok = await execIn(lab.ns.client, ['ping', '-c1', '-W1', '-I', iface, OPENVPN.server4]).then(() => true, () => false);
    if (ok) return;
  }
  throw new LabError(`the OpenVPN tunnel ${iface} did not come up`, `see ${join(lab.dir, 'openvpn-client.log')}`);
}

/** Starts an OpenVPN server (vpn namespace) and client (client namespace) in a running lab. */
export async function startOpenvpn(lab: Lab): Promise<OpenvpnLab> {
  if (!existsSync('/usr/sbin/openvpn')) throw new LabError('openvpn is not installed', 'apt-get install openvpn');
  const dir = join(lab.dir, 'openvpn');
  await makeKeys(dir);
  const k = (name: string): string => join(dir, name);
  const clientIface = `kv${lab.suffix}`;
  const serverIface = `ksv${lab.suffix}`;
  // The server's tunnel traffic leaves the vpn namespace translated, like the WireGuard tunnel's.
  const uplink = (await execIn(lab.ns.vpn, ['ip', '-o', 'route', 'get', lab.addr.internet4])).match(/dev (\S+)/)?.[1] ?? '';
  await execIn(lab.ns.vpn, ['nft', 'add', 'rule', 'inet', 'ksl_nat', 'post', 'oifname', uplink, 'ip', 'saddr', OPENVPN.subnet4, 'masquerade']);
  await execIn(lab.ns.vpn, ['nft', 'add', 'rule', 'inet', 'ksl_nat', 'post', 'oifname', uplink, 'ip6', 'saddr', OPENVPN.subnet6, 'masquerade']);
  let serverPid: number | undefined;
  let clientPid: number | undefined;
  const common = ['--dev-type', 'tun', '--proto', 'udp', '--ca', k('ca.crt'), '--verb', '3', '--data-ciphers', 'AES-128-GCM'];
  const startServer = async (): Promise<void> => {
    const proc = spawnIn(lab.ns.vpn, ['openvpn', ...common, '--dev', serverIface, '--port', String(OPENVPN.port), '--cert', k('server.crt'), '--key', k('server.key'),
      '--dh', 'none', '--topology', 'subnet', '--server', '10.68.0.0', '255.255.255.0', '--server-ipv6', OPENVPN.subnet6,
      '--push', 'redirect-gateway def1 ipv6', '--push', `dhcp-option DNS ${OPENVPN.server4}`, '--keepalive', '1', '5'], join(lab.dir, 'openvpn-server.log'));
    serverPid = proc.pid;
    if (serverPid !== undefined) recordPid(lab.dir, 'openvpn-server', serverPid);
  };
  const startClient = async (): Promise<void> => {
    const proc = spawnIn(lab.ns.client, ['openvpn', ...common, '--client', '--dev', clientIface, '--remote', lab.addr.vpnPublic4, String(OPENVPN.port),
      '--cert', k('client.crt'), '--key', k('client.key'), '--nobind', '--remote-cert-tls', 'server', '--connect-retry', '1', '1',
      // As providers' profiles do for UDP: a client that stops tells the server, which drops its session at once
      // (otherwise the old session holds the client's address until its keepalive times out, 10 s).
      '--explicit-exit-notify', '1'], join(lab.dir, 'openvpn-client.log'));
    clientPid = proc.pid;
    if (clientPid !== undefined) recordPid(lab.dir, 'openvpn-client', clientPid);
    await waitUp(lab, clientIface);
  };
  await startServer();
  await startClient();
  return {
    clientIface,
    async restartClient() {
      await stopPid(clientPid);
      await startClient();
    },
    async stopClient() {
      await stopPid(clientPid);
    },
    startClient,
    waitUp: () => waitUp(lab, clientIface, 40_000),
    async killServer() {
      await stopPid(serverPid, 0, 'SIGKILL');
    },
    startServer,
    async stop() {
      await stopPid(clientPid);
      await stopPid(serverPid);
    },
  };
}
