import { isIP } from 'node:net';

/** Splits addresses or ranges into IPv4 and IPv6 lists (pure). */
export function splitFamilies(values: readonly string[]): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const value of values) (isIP(value.split('/')[0] ?? '') === 6 ? v6 : v4).push(value);
  return { v4, v6 };
}
