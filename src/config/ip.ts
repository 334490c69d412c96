import { KsappError } from '../errors.js';

/** Raised when an IP address or CIDR range given to a helper here cannot be parsed. */
export class AddressError extends KsappError {
  constructor(message: string) {
    super(message, { code: 'ADDRESS_INVALID', hint: 'use a literal IPv4 or IPv6 address (CIDR: address/prefix)', exitCode: 2 });
  }
}

/** An IP address as a number, so ranges can be compared with masks. */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

/** A CIDR range as written: `address` may have host bits set; `network` has them cleared. */
export interface Cidr {
  family: 4 | 6;
  address: bigint;
  network: bigint;
  prefix: number;
}

const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

/** Ranges a protected app may reach directly with LAN access: private, link-local, ULA, multicast, limited broadcast. */
export const LAN_RANGES: readonly string[] = [
  '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '224.0.0.0/4', '255.255.255.255/32',
  'fc00::/7', 'fe80::/10', 'ff00::/8',
];

function parseIpv4(text: string): bigint | undefined {
  // Strict dotted quad: leading zeros are refused because some tools read them as octal.
  if (!/^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/.test(text)) return undefined;
  let value = 0n;
  for (const octet of text.split('.').map(Number)) {
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function ipv6Groups(text: string, allowDottedTail: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (allowDottedTail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIpv6(text: string): bigint | undefined {
  // Zone ids (fe80::1%eth0) are refused: a config address must not depend on an interface name.
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = ipv6Groups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? ipv6Groups(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const count = head.length + tail.length;
  // "::" stands for at least one zero group (RFC 4291), so with it at most 7 are written.
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - count).fill(0), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses a literal IPv4 or IPv6 address; undefined when it is not one (host names included). */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

function maskOf(family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** Parses `address/prefix`; a bare address is a single-host range (/32 or /128). Undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const [addressText = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const ip = parseIp(addressText);
  if (ip === undefined) return undefined;
  const bits = bitsOf(ip.family);
  if (prefixText !== undefined && !/^(?:0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return undefined;
  return { family: ip.family, address: ip.value, network: ip.value & maskOf(ip.family, prefix), prefix };
}

/** Writes an address in its canonical form (RFC 5952 for IPv6: lower case, longest zero run as "::"). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.len < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

function mustCidr(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === undefined) throw new AddressError(`invalid CIDR range ${JSON.stringify(text)}`);
  return cidr;
}

/** True when `ip` lies inside `cidr`; false across families (an IPv4-mapped IPv6 address is not IPv4). Throws AddressError on bad input. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const address = parseIp(ip);
  if (address === undefined) throw new AddressError(`invalid IP address ${JSON.stringify(ip)}`);
  const range = mustCidr(cidr);
  return address.family === range.family && (address.value & maskOf(range.family, range.prefix)) === range.network;
}

/** True when the whole of `cidr` lies inside one of LAN_RANGES. Throws AddressError on bad input. */
export function isPrivateRange(cidr: string): boolean {
  const range = mustCidr(cidr);
  return LAN_RANGES.some((text) => {
    const lan = mustCidr(text);
    return lan.family === range.family && range.prefix >= lan.prefix && (range.network & maskOf(lan.family, lan.prefix)) === lan.network;
  });
}

/** Splits addresses or ranges into IPv4 and IPv6 lists (pure). */
export function splitFamilies(values: readonly string[]): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const value of values) (value.includes(':') ? v6 : v4).push(value);
  return { v4, v6 };
}
