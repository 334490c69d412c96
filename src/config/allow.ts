// Allowlist entries: address ranges, and host names the daemon resolves.
import { parseCidr } from './ip.js';

/** An allowlist: ranges by family, and host names whose addresses are allowed while their records live. */
export interface Allowlist {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
  /** Lower case, without a trailing dot. */
  readonly names: readonly string[];
}

// RFC 1123 labels, at least two of them (a single label would be resolved through the search list,
// which is not what a user who wrote it pinned down), 253 characters at most.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})+$`);

/** The name as it is kept (lower case, no trailing dot), or undefined when it is not a host name. */
export function hostName(text: string): string | undefined {
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name.length > 253 || !HOST_NAME.test(name)) return undefined;
  // All-numeric last label: a mistyped address, never a name.
  if (/^\d+$/.test(name.split('.').pop() ?? '')) return undefined;
  return name;
}

/** True for an entry an allowlist may hold: an address or range with no host bits, not a whole family, or a host name. */
export function isAllowEntry(text: string): boolean {
  const range = parseCidr(text);
  if (range) return range.prefix > 0 && range.address === range.network;
  return hostName(text) !== undefined;
}

/** Splits checked entries into ranges by family and names (pure); names are normalised and kept once. */
export function splitAllow(entries: readonly string[]): Allowlist {
  const v4: string[] = [];
  const v6: string[] = [];
  const names = new Set<string>();
  for (const entry of entries) {
    const range = parseCidr(entry);
    if (range) (range.family === 6 ? v6 : v4).push(entry);
    else {
      const name = hostName(entry);
      if (name !== undefined) names.add(name);
    }
  }
  return { v4, v6, names: [...names] };
}

/** The entries of an allowlist as written in the config: ranges, then names (pure). */
export function allowEntries(list: Allowlist | undefined): string[] {
  return list ? [...list.v4, ...list.v6, ...list.names] : [];
}

/** True when the list allows nothing. */
export function isEmptyAllow(list: Allowlist | undefined): boolean {
  return !list || (list.v4.length === 0 && list.v6.length === 0 && list.names.length === 0);
}
