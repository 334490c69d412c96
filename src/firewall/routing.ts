import { runTool, tools } from '../tools.js';
import { MARK_BASE, MARK_MASK, ROUTE_TABLE } from './policy.js';
import { FirewallError } from './errors.js';

const FAMILIES = ['-4', '-6'] as const;
const fwmark = `0x${MARK_BASE.toString(16)}/0x${MARK_MASK.toString(16)}`;

/** Parses `ip -j rule list` output and says whether our fwmark rule is present (pure). */
export function hasMarkRule(json: string): boolean {
  const rules = JSON.parse(json || '[]') as Array<{ fwmark?: string; fwmask?: string; table?: string; priority?: number }>;
  return rules.some(
    (r) => Number(r.fwmark) === MARK_BASE && Number(r.fwmask) === MARK_MASK && r.priority === ROUTE_TABLE,
  );
}

/**
 * Steers marked packets into the tunnel: an ip rule per family, and a table
 * holding only the tunnel route and an `unreachable` fallback, so when the
 * tunnel route vanishes a protected packet has nowhere to go.
 */
export async function ensureRouting(tunnelIface: string | null): Promise<void> {
  for (const family of FAMILIES) {
    const rules = await runTool(tools.ip, ['-j', family, 'rule', 'list']);
    if (!hasMarkRule(rules)) {
      await runTool(tools.ip, [family, 'rule', 'add', 'fwmark', fwmark, 'lookup', String(ROUTE_TABLE), 'priority', String(ROUTE_TABLE)]);
    }
    await runTool(tools.ip, [family, 'route', 'replace', 'unreachable', 'default', 'metric', '4000', 'table', String(ROUTE_TABLE)]);
  }
  if (tunnelIface !== null) await routeIntoTunnel(tunnelIface);
}

/** (Re)adds the tunnel default route in our table; the kernel drops it whenever the interface goes. */
export async function routeIntoTunnel(tunnelIface: string): Promise<void> {
  try {
    await runTool(tools.ip, ['-4', 'route', 'replace', 'default', 'dev', tunnelIface, 'metric', '10', 'table', String(ROUTE_TABLE)]);
  } catch (error) {
    throw new FirewallError(`cannot route protected traffic into ${tunnelIface}`, {
      code: 'FW_ROUTE',
      hint: `check that ${tunnelIface} exists and is up (ip link show ${tunnelIface})`,
      cause: error,
    });
  }
  // IPv6 may be disabled on the tunnel; then IPv6 stays unreachable for protected apps, which is safe.
  await runTool(tools.ip, ['-6', 'route', 'replace', 'default', 'dev', tunnelIface, 'metric', '10', 'table', String(ROUTE_TABLE)]).catch(() => undefined);
}

/** Removes our ip rules and routing table. */
export async function removeRouting(): Promise<void> {
  for (const family of FAMILIES) {
    while (hasMarkRule(await runTool(tools.ip, ['-j', family, 'rule', 'list']))) {
      await runTool(tools.ip, [family, 'rule', 'del', 'fwmark', fwmark, 'lookup', String(ROUTE_TABLE), 'priority', String(ROUTE_TABLE)]);
    }
    await runTool(tools.ip, [family, 'route', 'flush', 'table', String(ROUTE_TABLE)]).catch(() => undefined);
  }
}
