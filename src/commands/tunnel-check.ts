import { KsappError } from '../errors.js';
import { ifaceNameProblem } from '../iface-name.js';
import { runTool, tools } from '../tools.js';

/** Fails (exit 2) unless `iface` can be an interface name. */
export function requireInterfaceName(iface: string): void {
  const problem = ifaceNameProblem(iface);
  if (problem) throw new KsappError(`"${iface}" is not a valid interface name: it ${problem}`, { code: 'TUNNEL_BAD_NAME', exitCode: 2, hint: 'name it as `ip link` shows it, e.g. wg0' });
}

/** Fails with a clear message unless the tunnel interface exists in this network namespace and has an address. */
export async function requireInterface(iface: string): Promise<void> {
  requireInterfaceName(iface);
  let json: string;
  try {
    json = await runTool(tools.ip, ['-j', 'addr', 'show', 'dev', iface]);
  } catch (error) {
    throw new KsappError(`tunnel interface ${iface} does not exist`, {
      code: 'TUNNEL_MISSING', exitCode: 2, cause: error,
      hint: `bring the VPN up first (e.g. \`wg-quick up ${iface}\`), or name the right one with --tunnel (see \`ip link\`)`,
    });
  }
  // Without an address nothing can be masqueraded into the tunnel: that is not a tunnel yet, but a VPN half set up.
  if (tunnelAddresses(json).length === 0) {
    throw new KsappError(`tunnel interface ${iface} has no IP address`, {
      code: 'TUNNEL_NO_ADDRESS', exitCode: 2,
      hint: `finish bringing the VPN up (its client gives ${iface} an address, e.g. \`ip addr add 10.0.0.2/24 dev ${iface}\`), or name the right interface with --tunnel`,
    });
  }
}

/** The addresses in `ip -j addr show` output that can carry traffic: IPv4, or IPv6 beyond link-local (pure). */
export function tunnelAddresses(json: string): string[] {
  const links = JSON.parse(json || '[]') as Array<{ addr_info?: Array<{ family?: string; local?: string; scope?: string }> }>;
  return links.flatMap((l) => l.addr_info ?? [])
    .filter((a) => a.local && (a.family === 'inet' || (a.family === 'inet6' && a.scope !== 'link' && a.scope !== 'host')))
    .map((a) => a.local!);
}

/** Fails unless running as root, naming the command that needs it. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new KsappError(`${what} needs root: it changes firewall rules and cgroups`, {
      code: 'NOT_ROOT', exitCode: 1, hint: `run it with sudo: sudo ksapp ${what}`,
    });
  }
}
