// Bringing the two ends of the lab's WireGuard tunnel up (and back up).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WG_SOCKET_DIR } from './cleanup.js';
import { ipBatch } from './netns.js';
import { recordPid } from './state.js';
import { CLIENT_PORT, SERVER_PORT, clientTunnelRoutes, clientUnderlayRoutes, tunnelAddressCommands, type LabPlan } from './topology.js';
import { pingFrom, startWireguardGo, waitForHandshake, wgSet, type WgKeys } from './wireguard.js';

/** What the tunnel operations need to know and remember about one lab. */
export interface TunnelState {
  plan: LabPlan;
  dir: string;
  keys: { client: WgKeys; server: WgKeys };
  clientPid?: number;
  serverPid?: number;
}

/** Starts and configures the server end; the server also knows the client's endpoint, so either side can start a handshake. */
export async function startServer(s: TunnelState): Promise<void> {
  const { plan: p } = s;
  const iface = p.tunnel.serverIface;
  rmSync(join(WG_SOCKET_DIR, `${iface}.sock`), { force: true }); // stale after a SIGKILLed server
  s.serverPid = await startWireguardGo(p.ns.vpn, iface, join(s.dir, 'wg-server.log'));
  recordPid(s.dir, 'wg-server', s.serverPid);
  await wgSet(iface, [
    'private-key', s.keys.server.privateKeyFile, 'listen-port', String(SERVER_PORT),
    'peer', s.keys.client.publicKey, 'allowed-ips', `${p.tunnel.client4}/32,${p.tunnel.client6}/128`,
    'endpoint', `${p.addr.client4}:${CLIENT_PORT}`, 'persistent-keepalive', '1',
  ]);
  await ipBatch(p.ns.vpn, tunnelAddressCommands(iface, p.tunnel.server4, p.tunnel.server6));
}

/** Starts and configures the client end with the routes of the lab's mode. */
export async function startClient(s: TunnelState): Promise<void> {
  const { plan: p } = s;
  const iface = p.tunnel.clientIface;
  rmSync(join(WG_SOCKET_DIR, `${iface}.sock`), { force: true });
  s.clientPid = await startWireguardGo(p.ns.client, iface, join(s.dir, 'wg-client.log'));
  recordPid(s.dir, 'wg-client', s.clientPid);
  // allowed-ips everything, like a full-tunnel client: routing (ours or ksapp's) decides what enters.
  await wgSet(iface, [
    'private-key', s.keys.client.privateKeyFile, 'listen-port', String(CLIENT_PORT),
    'peer', s.keys.server.publicKey, 'allowed-ips', '0.0.0.0/0,::/0',
    'endpoint', `${p.addr.vpnPublic4}:${SERVER_PORT}`, 'persistent-keepalive', '1',
  ]);
  await restoreClientConfig(p);
}

/** Gives the client's tunnel interface its addresses, brings it up and restores the mode's routes. */
export async function restoreClientConfig(p: LabPlan): Promise<void> {
  await ipBatch(p.ns.client, [
    ...clientUnderlayRoutes(p),
    ...tunnelAddressCommands(p.tunnel.clientIface, p.tunnel.client4, p.tunnel.client6),
    ...clientTunnelRoutes(p),
  ]);
}

/** Waits for a handshake on `iface` newer than `after`, then for pings through the tunnel both ways of IP. */
export async function waitTunnel(p: LabPlan, iface: string, after = 0): Promise<void> {
  await waitForHandshake(iface, after);
  await Promise.all([pingFrom(p.ns.client, p.tunnel.server4), pingFrom(p.ns.client, p.tunnel.server6)]);
}

/** Ends one process by pid (SIGTERM, then SIGKILL after graceMs) and waits until it is gone. */
export async function stopPid(pid: number | undefined, graceMs = 1000, first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (pid === undefined) return;
  const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
  try { process.kill(pid, first); } catch { return; }
  for (const deadline = Date.now() + graceMs; alive() && Date.now() < deadline; ) await sleep(10);
  if (alive()) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    for (const deadline = Date.now() + 2000; alive() && Date.now() < deadline; ) await sleep(10);
  }
}
