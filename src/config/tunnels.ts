// The tunnels of a config as a whole: cross-checks between `tunnel` and `tunnels`, and the primary-first list.
import type { Report } from './schema.js';
import type { Config, TunnelConfig } from './types.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_HOLD_DOWN_MS, DEFAULT_MAX_HOLD_DOWN_MS } from './types.js';

/** One tunnel as written: where (`tunnel`, `tunnels[1]`), its interface and `via` when they are valid names. */
interface Written {
  at: string;
  iface: string | undefined;
  via: string | undefined;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function written(tunnel: unknown, tunnels: unknown): Written[] {
  const entries: Array<[string, unknown]> = [['tunnel', tunnel], ...(Array.isArray(tunnels) ? tunnels.map((t, i): [string, unknown] => [`tunnels[${i}]`, t]) : [])];
  return entries
    .filter((entry): entry is [string, Record<string, unknown>] => typeof entry[1] === 'object' && entry[1] !== null)
    .map(([at, t]) => ({ at, iface: text(t['interface']), via: text(t['via']) }));
}

/** The chain of `via` from `start` back to `start`, or undefined when it ends or loops elsewhere. */
function cycleFrom(start: Written, byIface: ReadonlyMap<string, Written>): string[] | undefined {
  const chain = [start];
  for (let next = byIface.get(start.via ?? ''); next !== undefined; next = byIface.get(next.via ?? '')) {
    if (next === start) return [...chain, start].map((t) => t.iface ?? '');
    if (chain.includes(next)) return undefined;
    chain.push(next);
  }
  return undefined;
}

/**
 * Checks the tunnels of the top level together: each interface once across `tunnel` and `tunnels`
 * (the primary given in `tunnel` must not be repeated in `tunnels`), and `via` naming another
 * configured tunnel without a cycle. Invalid values were reported already and are skipped.
 */
export function checkTunnels(value: Record<string, unknown>, report: Report): void {
  const all = written(value['tunnel'], value['tunnels']);
  const byIface = new Map<string, Written>();
  for (const t of all) {
    if (t.iface === undefined) continue;
    const first = byIface.get(t.iface);
    if (first === undefined) byIface.set(t.iface, t);
    else {
      const why = first.at === 'tunnel' ? 'the primary in tunnel is already the first tunnel; do not list it again' : 'each tunnel is configured once';
      report(`${t.at}.interface`, `duplicates ${first.at}.interface (got ${JSON.stringify(t.iface)}); ${why}`);
    }
  }
  const configured = [...byIface.keys()].join(', ') || 'none';
  const cycled = new Set<Written>();
  for (const t of all) {
    if (t.via === undefined) continue;
    const at = `${t.at}.via`;
    if (t.via === t.iface) report(at, `must name another tunnel, not its own (got ${JSON.stringify(t.via)})`);
    else if (!byIface.has(t.via)) report(at, `must name the interface of a configured tunnel (got ${JSON.stringify(t.via)}; configured: ${configured})`);
    else if (!cycled.has(t)) {
      const cycle = cycleFrom(t, byIface);
      // Reported once, at the first tunnel of the cycle in config order (tunnel, then tunnels).
      if (cycle !== undefined) report(at, `makes a cycle: ${cycle.join(' → ')} (a tunnel cannot be reached through itself)`);
      for (const iface of cycle ?? []) cycled.add(byIface.get(iface) ?? t);
    }
  }
}

/**
 * The primary and the full list: `tunnel` when given (then put before `tunnels`), else the first of
 * `tunnels`, else an auto-detected tunnel with default settings. `tunnel` is `tunnels[0]`, the same object.
 */
export function primaryFirst(tunnel: TunnelConfig | undefined, tunnels: readonly TunnelConfig[] | undefined): Pick<Config, 'tunnel' | 'tunnels'> {
  const listed = tunnels ?? [];
  const primary = tunnel ?? listed[0] ?? { handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT_MS, holdDown: DEFAULT_HOLD_DOWN_MS, maxHoldDown: DEFAULT_MAX_HOLD_DOWN_MS };
  return { tunnel: primary, tunnels: tunnel === undefined && listed.length > 0 ? [...listed] : [primary, ...listed] };
}
