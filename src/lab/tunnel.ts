// Bringing the two ends of one of the lab's WireGuard tunnels up (and back up).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WG_SOCKET_DIR } from './cleanup.js';
import { ipBatch } from './netns.js';
import { recordPid } from './state.js';
import { clientTunnelRoutes, clientUnderlayRoutes, tunnelAddressCommands, type LabPlan, type TunnelSpec } from './topology.js';
import { genKeys, pingFrom, startWireguardGo, waitForHandshake, wgSet, type WgKeys } from './wireguard.js';

/** What the tunnel operations need to know and remember about one tunnel of one lab. */
export interface TunnelState {
  plan: LabPlan;
  dir: string;
  spec: TunnelSpec;
  keys: { client: WgKeys; server: WgKeys };
  clientPid?: number;
  serverPid?: number;
}

/** Generates both key pairs of a tunnel (files client{id}.key and server{id}.key in the lab's directory). */
export async function tunnelState(plan: LabPlan, dir: string, spec: TunnelSpec): Promise<TunnelState> {
  const [client, server] = await Promise.all([genKeys(dir, `client${spec.id}`), genKeys(dir, `server${spec.id}`)]);
  return { plan, dir, spec, keys: { client, server } };
}

/** Starts and configures the server end; the server also knows the client's endpoint, so either side can start a handshake. */
export async function startServer(s: TunnelState): Promise<void> {
  const { plan: p, spec: t } = s;
  const iface = t.ends.serverIface;
  rmSync(join(WG_SOCKET_DIR, `${iface}.sock`), { force: true }); // stale after a SIGKILLed server
  s.serverPid = await startWireguardGo(p.ns.vpn, iface, join(s.dir, `wg-server${t.id}.log`));
  recordPid(s.dir, `wg-server${t.id}`, s.serverPid);
  await wgSet(iface, [
    'private-key', s.keys.server.privateKeyFile, 'listen-port', String(t.serverPort),
    'peer', s.keys.client.publicKey, 'allowed-ips', `${t.ends.client4}/32,${t.ends.client6}/128`,
    'endpoint', `${p.addr.client4}:${t.clientPort}`, 'persistent-keepalive', '1',
  ]);
  await ipBatch(p.ns.vpn, tunnelAddressCommands(iface, t.ends.server4, t.ends.server6));
}

/** Starts and configures the client end with the routes of the lab's mode. */
export async function startClient(s: TunnelState): Promise<void> {
  const { plan: p, spec: t } = s;
  const iface = t.ends.clientIface;
  rmSync(join(WG_SOCKET_DIR, `${iface}.sock`), { force: true });
  s.clientPid = await startWireguardGo(p.ns.client, iface, join(s.dir, `wg-client${t.id}.log`));
  recordPid(s.dir, `wg-client${t.id}`, s.clientPid);
  // allowed-ips everything, like a full-tunnel client: routing (ours or ksapp's) decides what enters.
  await wgSet(iface, [
    'private-key', s.keys.client.privateKeyFile, 'listen-port', String(t.clientPort),
    'peer', s.keys.server.publicKey, 'allowed-ips', '0.0.0.0/0,::/0',
    'endpoint', `${t.public4}:${t.serverPort}`, 'persistent-keepalive', '1',
  ]);
  await restoreClientConfig(s);
}

/** Gives the client's tunnel interface its addresses, brings it up and restores the mode's routes. */
export async function restoreClientConfig(s: TunnelState): Promise<void> {
  const { ends } = s.spec;
  await ipBatch(s.plan.ns.client, [
    ...clientUnderlayRoutes(s.plan),
    ...tunnelAddressCommands(ends.clientIface, ends.client4, ends.client6),
    ...clientTunnelRoutes(s.spec),
  ]);
}

/** Waits for a handshake on `iface` (either end of the tunnel) newer than `after`, then for pings through the tunnel both ways of IP. */
export async function waitTunnel(s: TunnelState, iface: string, after = 0): Promise<void> {
  await waitForHandshake(iface, after);
  const { ends } = s.spec;
  // The second tunnel's pings leave by its own interface: in default-route mode the first tunnel reaches its server's addresses too.
  const dev = s.spec.id === '' ? undefined : ends.clientIface;
  await Promise.all([pingFrom(s.plan.ns.client, ends.server4, 12, dev), pingFrom(s.plan.ns.client, ends.server6, 12, dev)]);
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
