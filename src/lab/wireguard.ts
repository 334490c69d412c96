// A real userspace WireGuard tunnel: wireguard-go daemons configured with `wg`.
// wg reaches a userspace interface through its socket in one directory shared
// by every namespace, so each call names its interface.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool, tools } from '../tools.js';
import { WG_SOCKET_DIR } from './cleanup.js';
import { LabError, logTail } from './errors.js';
import { execIn, spawnIn } from './netns.js';

/** The userspace WireGuard binary (overridable). */
export const WIREGUARD_GO = process.env.KSAPP_WIREGUARD_GO ?? 'wireguard-go';

/** A WireGuard key pair, base64 as wg prints it, with the private key's file. */
export interface WgKeys {
  privateKey: string;
  publicKey: string;
  privateKeyFile: string;
}

/** Generates a key pair with `wg genkey`/`wg pubkey` and stores the private key (mode 600). */
export async function genKeys(dir: string, name: string): Promise<WgKeys> {
  const privateKey = (await runTool(tools.wg, ['genkey'])).trim();
  const publicKey = (await runTool(tools.wg, ['pubkey'], privateKey + '\n')).trim();
  const privateKeyFile = join(dir, `${name}.key`);
  writeFileSync(privateKeyFile, privateKey + '\n', { mode: 0o600 });
  return { privateKey, publicKey, privateKeyFile };
}

/** Starts `wireguard-go -f IFACE` in a namespace and resolves with its pid once its control socket exists. */
export async function startWireguardGo(ns: string, iface: string, logFile: string): Promise<number> {
  const proc = spawnIn(ns, [WIREGUARD_GO, '-f', iface], logFile);
  let exited = false;
  void proc.then(() => { exited = true; });
  const sock = join(WG_SOCKET_DIR, `${iface}.sock`);
  for (const deadline = Date.now() + 5000; Date.now() < deadline && !exited; await sleep(10)) {
    if (existsSync(sock) && proc.pid !== undefined) return proc.pid;
  }
  if (proc.pid !== undefined && !exited) process.kill(proc.pid, 'SIGKILL');
  throw new LabError(`wireguard-go did not bring up ${iface} in ${ns}: ${logTail(logFile, 2) || 'no output'}`, 'is wireguard-go installed and /dev/net/tun available?');
}

/** Runs `wg set IFACE …`. */
export async function wgSet(iface: string, args: readonly string[]): Promise<void> {
  await runTool(tools.wg, ['set', iface, ...args]);
}

/** Parses `wg show IFACE latest-handshakes` ("PUBKEY\tUNIXSECONDS" per line) into a map. */
export function parseLatestHandshakes(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, ts] = line.trim().split(/\s+/);
    if (key && ts !== undefined && Number.isFinite(Number(ts))) out.set(key, Number(ts));
  }
  return out;
}

/** The newest handshake of an interface in unix seconds; 0 when none happened (or the interface is gone). */
export async function latestHandshake(iface: string): Promise<number> {
  try {
    return Math.max(0, ...parseLatestHandshakes(await runTool(tools.wg, ['show', iface, 'latest-handshakes'])).values());
  } catch {
    return 0;
  }
}

/** Waits until the interface has a handshake newer than `after` (unix seconds). */
export async function waitForHandshake(iface: string, after = 0, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(20)) {
    if ((await latestHandshake(iface)) > after) return;
  }
  throw new LabError(`no WireGuard handshake on ${iface} within ${timeoutMs} ms`, 'check the lab logs under /run/ksapp-lab');
}

/** Pings an address from a namespace (out of `dev` when given) until one reply arrives (fast interval), or fails after timeoutS. */
export async function pingFrom(ns: string, addr: string, timeoutS = 12, dev?: string): Promise<void> {
  try {
    await execIn(ns, ['ping', '-n', '-q', ...(dev ? ['-I', dev] : []), '-c', '1', '-i', '0.1', '-w', String(timeoutS), addr]);
  } catch (error) {
    throw new LabError(`no ping reply from ${addr} in ${ns}`, 'the tunnel or a route is broken', error);
  }
}
