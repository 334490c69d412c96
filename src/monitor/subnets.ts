// Which prefixes count as "inside the tunnel", for validating the probe address.
import { BlockList, isIP } from 'node:net';
import type { LinkSnapshot } from './link-snapshot.js';

/** The tunnel's prefixes: each address's own prefix, each point-to-point peer, and extra CIDRs. */
export function tunnelPrefixes(snap: LinkSnapshot, extraCidrs: readonly string[] = []): string[] {
  const own = snap.addrs.filter((a) => a.scope !== 'link' && a.scope !== 'host').flatMap((a) => [
    `${a.address}/${a.prefixlen}`,
    ...(a.peer === undefined ? [] : [`${a.peer}/${a.prefixlen}`]),
  ]);
  return [...own, ...extraCidrs];
}

/** True when `address` lies inside one of `cidrs` (pure; IPv4 and IPv6). */
export function insideAny(address: string, cidrs: readonly string[]): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net = '', len] = cidr.split('/');
    const f = isIP(net);
    if (f === 0) continue;
    list.addSubnet(net, len === undefined ? (f === 4 ? 32 : 128) : Number(len), f === 4 ? 'ipv4' : 'ipv6');
  }
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** True when `cidr` is a valid IPv4 or IPv6 prefix such as 10.66.0.0/24. */
export function isCidr(cidr: string): boolean {
  const [net = '', len, extra] = cidr.split('/');
  const family = isIP(net);
  if (family === 0 || extra !== undefined) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return /^\d+$/.test(len) && n <= (family === 4 ? 32 : 128);
}
