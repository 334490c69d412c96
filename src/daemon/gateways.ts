// Config `gateway:`: each LAN the config names is held like `ksapp gateway`
// does it, from the daemon's start and at every reload.
import { lanAppName } from '../config/hosts.js';
import type { GatewayConfig } from '../config/index.js';
import type { App, Supervisor } from '../supervisor/index.js';
import { ifaceRule, protectIface } from './protect-forwarded.js';

/** The app name a gateway entry is shown under (pure). */
export function gatewayName(g: GatewayConfig): string {
  return g.name ?? lanAppName(g.lan);
}

/** True when the running app already holds what the entry asks for: the same sources, the same tunnels (pure). */
function holds(app: App, g: GatewayConfig, primary: string): boolean {
  const same = (x: unknown, y: unknown): boolean => JSON.stringify(x) === JSON.stringify(y);
  return same(app.forwarded, [ifaceRule(g.lan, g.hosts)]) && same(app.tunnels, g.tunnel ?? [primary]);
}

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
    if (running && holds(running, g, sup.options.tunnelIface)) continue;
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
