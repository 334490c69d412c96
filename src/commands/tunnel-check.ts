import { KsappError } from '../errors.js';
import { runTool, tools } from '../tools.js';

/** Fails with a clear message unless the tunnel interface exists in this network namespace. */
export async function requireInterface(iface: string): Promise<void> {
  if (!/^[A-Za-z0-9._@:-]{1,15}$/.test(iface)) {
    throw new KsappError(`"${iface}" is not a valid interface name`, { code: 'TUNNEL_BAD_NAME', exitCode: 2, hint: 'interface names are 1-15 characters, e.g. wg0' });
  }
  try {
    await runTool(tools.ip, ['-j', 'link', 'show', 'dev', iface]);
  } catch (error) {
    throw new KsappError(`tunnel interface ${iface} does not exist`, {
      code: 'TUNNEL_MISSING', exitCode: 2, cause: error,
      hint: `bring the VPN up first (e.g. \`wg-quick up ${iface}\`), or name the right one with --tunnel (see \`ip link\`)`,
    });
  }
}

/** Fails unless running as root, naming the command that needs it. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new KsappError(`${what} needs root: it changes firewall rules and cgroups`, {
      code: 'NOT_ROOT', exitCode: 1, hint: `run it with sudo: sudo ksapp ${what}`,
    });
  }
}
