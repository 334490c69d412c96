import { runTool, tools } from '../tools.js';
import { MARK_BASE, MARK_MASK, MAX_TUNNELS, rulePriorityFor, ROUTE_TABLE, SLOT_MASK, slotMark, tableFor } from './policy.js';
import { FirewallError } from './errors.js';

const FAMILIES = ['-4', '-6'] as const;
const hexMark = (mark: number, mask: number): string => `0x${mark.toString(16)}/0x${mask.toString(16)}`;

/** The ip rule of a tunnel slot: the primary's catches every protected mark; another slot's only its own. */
function ruleOf(slot: number): { fwmark: string; mark: number; mask: number; table: number; priority: number } {
  const [mark, mask] = slot === 0 ? [MARK_BASE, MARK_MASK] : [slotMark(slot), SLOT_MASK];
  return { fwmark: hexMark(mark, mask), mark, mask, table: tableFor(slot), priority: slot === 0 ? ROUTE_TABLE : rulePriorityFor(slot) };
}

type RuleJson = Array<{ fwmark?: string; fwmask?: string; table?: string; priority?: number }>;

/** Parses `ip -j rule list` output and says whether the fwmark rule of `slot` is present (pure). */
export function hasMarkRule(json: string, slot = 0): boolean {
  const want = ruleOf(slot);
  return (JSON.parse(json || '[]') as RuleJson).some(
    (r) => Number(r.fwmark) === want.mark && Number(r.fwmask) === want.mask && r.priority === want.priority,
  );
}

/**
 * Steers marked packets of a tunnel slot into its table: an ip rule per
 * family, and a table holding only the tunnel route and an `unreachable`
 * fallback, so when the tunnel route vanishes a protected packet has nowhere
 * to go.
 */
export async function ensureRouting(tunnelIface: string | null, slot = 0): Promise<void> {
  const rule = ruleOf(slot);
  for (const family of FAMILIES) {
    const rules = await runTool(tools.ip, ['-j', family, 'rule', 'list']);
    if (!hasMarkRule(rules, slot)) {
      await runTool(tools.ip, [family, 'rule', 'add', 'fwmark', rule.fwmark, 'lookup', String(rule.table), 'priority', String(rule.priority)]);
    }
    await runTool(tools.ip, [family, 'route', 'replace', 'unreachable', 'default', 'metric', '4000', 'table', String(rule.table)]);
  }
  if (tunnelIface !== null) await routeIntoTunnel(tunnelIface, slot);
}

/** (Re)adds the tunnel default route in its slot's table; the kernel drops it whenever the interface goes. */
export async function routeIntoTunnel(tunnelIface: string, slot = 0): Promise<void> {
  const table = String(tableFor(slot));
  try {
    await runTool(tools.ip, ['-4', 'route', 'replace', 'default', 'dev', tunnelIface, 'metric', '10', 'table', table]);
  } catch (error) {
    throw new FirewallError(`cannot route protected traffic into ${tunnelIface}`, {
      code: 'FW_ROUTE',
      hint: `check that ${tunnelIface} exists and is up (ip link show ${tunnelIface})`,
      cause: error,
    });
  }
  // IPv6 may be disabled on the tunnel; then IPv6 stays unreachable for protected apps, which is safe.
  await runTool(tools.ip, ['-6', 'route', 'replace', 'default', 'dev', tunnelIface, 'metric', '10', 'table', table]).catch(() => undefined);
}

/** Removes our ip rules and routing tables, of every slot (one listing per family; only slots in use cost more). */
export async function removeRouting(): Promise<void> {
  for (const family of FAMILIES) {
    const listed = await runTool(tools.ip, ['-j', family, 'rule', 'list']);
    for (let slot = 0; slot < MAX_TUNNELS; slot++) {
      if (slot > 0 && !hasMarkRule(listed, slot)) continue;
      const rule = ruleOf(slot);
      while (hasMarkRule(await runTool(tools.ip, ['-j', family, 'rule', 'list']), slot)) {
        await runTool(tools.ip, [family, 'rule', 'del', 'fwmark', rule.fwmark, 'lookup', String(rule.table), 'priority', String(rule.priority)]);
      }
      await runTool(tools.ip, [family, 'route', 'flush', 'table', String(rule.table)]).catch(() => undefined);
    }
  }
}
