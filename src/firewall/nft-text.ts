// The pieces of nft text every rule is built from: marks, and the checks that keep
// anything but a literal of the expected kind out of a ruleset.
import { parseIp } from '../config/ip.js';
import { MARK_BASE, MARK_MASK } from './policy.js';

export const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
/** A packet carrying a ksapp mark. */
export const PROTECTED = `meta mark & ${hex(MARK_MASK)} == ${hex(MARK_BASE)}`;
/** A packet of a connection carrying a ksapp mark. */
export const PROTECTED_CT = `ct mark & ${hex(MARK_MASK)} == ${hex(MARK_BASE)}`;
export const UNMARKED = `meta mark & ${hex(MARK_MASK)} != ${hex(MARK_BASE)}`;

/** nft string literal: only the characters cgroup paths and interface names may hold get through. */
export function quote(value: string): string {
  if (!/^[A-Za-z0-9._:@/+-]*$/.test(value)) throw new Error(`unsafe value for an nft rule: ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** An IP literal for a rule; anything else is refused before it reaches nft. */
export function address(value: string): string {
  if (parseIp(value) === undefined) throw new Error(`not an IP address: ${JSON.stringify(value)}`);
  return value;
}


/** An address or range for a rule; anything else is refused before it reaches nft. */
export function cidr(value: string): string {
  if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(value)) throw new Error(`not an address range: ${JSON.stringify(value)}`);
  return value;
}


/** A MAC address for a rule (lower case, colon-separated). */
export function mac(value: string): string {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(value)) throw new Error(`not a MAC address: ${JSON.stringify(value)}`);
  return value;
}
