// LAN hosts a gateway confines: addresses, ranges and MACs.
import { parseCidr } from './ip.js';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** True for an address, a range with no host bits (not a whole family), or a MAC in lower case (pure). */
export function isHostEntry(text: string): boolean {
  if (MAC.test(text)) return true;
  const range = parseCidr(text);
  return range !== undefined && range.prefix > 0 && range.address === range.network;
}

/** Splits checked entries into ranges by family and MACs (pure); a bare address becomes a single-host range. */
export function splitHosts(entries: readonly string[]): { v4: string[]; v6: string[]; macs: string[] } {
  const out = { v4: [] as string[], v6: [] as string[], macs: [] as string[] };
  for (const e of entries) {
    if (MAC.test(e)) out.macs.push(e);
    else {
      const r = parseCidr(e);
      if (!r) continue;
      const text = e.includes('/') ? e : `${e}/${r.prefix}`;
      (r.family === 6 ? out.v6 : out.v4).push(text);
    }
  }
  return out;
}

/** True when two ranges share an address (pure); never across families. */
export function rangesOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  const bits = x.family === 4 ? 32n : 128n;
  const prefix = BigInt(Math.min(x.prefix, y.prefix));
  const mask = ((1n << bits) - 1n) ^ ((1n << (bits - prefix)) - 1n);
  return (x.address & mask) === (y.address & mask);
}

/** The app name a LAN is shown under unless given one: `lan-IFACE`, with what an app name may not hold replaced (pure). */
export function lanAppName(lan: string): string {
  return `lan-${lan.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}
