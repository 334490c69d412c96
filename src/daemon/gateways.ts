// Config `gateway:`: each LAN the config names is held like `ksapp gateway`
// does it, from the daemon's start and at every reload.
import type { GatewayConfig } from '../config/index.js';
import type { Supervisor } from '../supervisor/index.js';
import { protectIface } from './protect-forwarded.js';

/** The app name a gateway entry is shown under (pure). */
export function gatewayName(g: GatewayConfig): string {
  return g.name ?? `lan-${g.lan.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** The sources an entry asks for, as the app would hold them, for comparison (pure). */
const key = (g: GatewayConfig): string => JSON.stringify([g.lan, [...g.hosts].map((h) => h.toLowerCase()).sort(), g.tunnel ?? []]);
const appKey = (app: { forwarded?: ReadonlyArray<{ iface: string; v4: readonly string[]; v6: readonly string[]; macs?: readonly string[] }>; tunnels: readonly string[] }, primary: string): string => {
  const f = app.forwarded?.[0];
  const tunnels = app.tunnels.length === 1 && app.tunnels[0] === primary ? [] : app.tunnels;
  return JSON.stringify([f?.iface, [...(f?.v4 ?? []), ...(f?.v6 ?? []), ...(f?.macs ?? [])].sort(), tunnels]);
};

/**
 * Makes the protected LANs match the config: a new entry is protected, a
 * changed one protected again, and a config gateway no longer listed
 * released. Each failure is reported, naming its entry; the others go on.
 */
export async function applyGateways(sup: Supervisor, root: string, gateways: readonly GatewayConfig[], report: (detail: string) => void): Promise<void> {
  const wanted = new Map(gateways.map((g) => [gatewayName(g), g]));
  for (const app of [...sup.apps.values()]) {
    if (app.origin !== 'config' || !app.forwarded?.length || app.container) continue;
    if (!wanted.has(app.name)) await sup.removeApp(app.name).catch((e: Error) => report(`gateway ${app.name}: ${e.message}`));
  }
  for (const [name, g] of wanted) {
    const running = sup.apps.get(name);
    if (running && appKey(running, sup.options.tunnelIface) === key(withRanges(g))) continue;
    try {
      if (running) await sup.removeApp(name);
      await protectIface(sup, root, {
        id: 0, op: 'protect', iface: g.lan, hosts: g.hosts.map((h) => h.toLowerCase()), name, onDrop: 'block', ...(g.tunnel ? { tunnels: g.tunnel } : {}),
      }, { uid: 0, gid: 0, pid: process.pid }, 'config');
    } catch (error) {
      report(`gateway ${name} (lan ${g.lan}): ${(error as Error).message}`);
    }
  }
}

/** Bare addresses as the rules hold them (a /32 or /128 added), so an unchanged entry compares equal (pure). */
function withRanges(g: GatewayConfig): GatewayConfig {
  return { ...g, hosts: g.hosts.map((h) => (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(h) || h.includes('/') ? h : `${h}/${h.includes(':') ? 128 : 32}`)) };
}
