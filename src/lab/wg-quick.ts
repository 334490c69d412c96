// wg-quick in the lab's client namespace, in place of the lab's own wireguard-go client: same keys,
// interface name and port (the server knows the port, so a restarted server shakes hands at once),
// userspace wireguard-go, no `DNS =` line. Full tunnel (AllowedIPs everything, wg-quick's own fwmark,
// rules and nft table), or `Table = off` (no routes of its own).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool, tools } from '../tools.js';
import { LabError } from './errors.js';
import type { Lab } from './lab.js';
import { execIn } from './netns.js';
import { CLIENT_PORT, SERVER_PORT } from './topology.js';

/** One wg-quick config for the lab's client, and the two commands on it. */
export interface WgQuickClient {
  /** The config file (its name is the interface's). */
  readonly conf: string;
  up(): Promise<void>;
  down(): Promise<void>;
}

/** Takes the lab's own client end away (its wireguard-go leaves with its interface) and waits until its port is free. */
export async function removeLabClient(lab: Lab): Promise<void> {
  await lab.faults.deleteTunnel();
  for (const deadline = Date.now() + 10_000; ; await sleep(20)) {
    if (!(await execIn(lab.ns.client, ['ss', '-Hulpn', `sport = :${CLIENT_PORT}`])).trim()) return;
    if (Date.now() > deadline) throw new LabError(`the lab's client still holds port ${CLIENT_PORT}`, 'see the lab\'s wg-client log');
  }
}

/** Writes a wg-quick config for the lab's client into `name` under the lab's directory. */
export function wgQuickClient(lab: Lab, name: string, o: { tableOff?: boolean } = {}): WgQuickClient {
  const dir = join(lab.dir, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const conf = join(dir, `${lab.tunnel.clientIface}.conf`);
  const key = (file: string): string => readFileSync(join(lab.dir, file), 'utf8').trim();
  let written = false;
  const write = async (): Promise<void> => {
    if (written) return;
    const serverPub = (await runTool(tools.wg, ['pubkey'], `${key('server.key')}\n`)).trim();
    writeFileSync(conf, [
      '[Interface]', `PrivateKey = ${key('client.key')}`,
      `Address = ${lab.tunnel.client4}/24, ${lab.tunnel.client6}/64`, `ListenPort = ${CLIENT_PORT}`, ...(o.tableOff ? ['Table = off'] : []),
      '[Peer]', `PublicKey = ${serverPub}`, `Endpoint = ${lab.addr.vpnPublic4}:${SERVER_PORT}`, 'AllowedIPs = 0.0.0.0/0, ::/0', 'PersistentKeepalive = 1', '',
    ].join('\n'), { mode: 0o600 });
    written = true;
  };
  const wgQuick = async (action: 'up' | 'down'): Promise<void> => {
    await write();
    await execIn(lab.ns.client, ['env', 'WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go', 'wg-quick', action, conf]);
  };
  return { conf, up: () => wgQuick('up'), down: () => wgQuick('down') };
}
