// Allowlisted host names in the world: answers merged as records live and die (pure).
import type { ResolvedName, TimedAddress, World } from './world.js';

/** An address allowed for the next `timeoutMs` (as the firewall's timed set takes it). */
export interface Timed { readonly addr: string; readonly timeoutMs: number }

/**
 * The name's addresses after an answer: the answer's, with their new expiry,
 * and the earlier ones it no longer holds until their own records expire —
 * a record once received is valid for its TTL, and the kernel drops it then.
 */
export function mergeAnswer(old: ResolvedName | undefined, answer: ResolvedName, at: number): ResolvedName {
  const merge = (before: readonly TimedAddress[], now: readonly TimedAddress[]): TimedAddress[] => {
    const fresh = new Map(now.map((a) => [a.addr, a.expiresAt]));
    const kept = before.filter((a) => !fresh.has(a.addr) && a.expiresAt > at);
    return [...[...fresh].map(([addr, expiresAt]) => ({ addr, expiresAt })), ...kept].sort((x, y) => (x.addr < y.addr ? -1 : x.addr > y.addr ? 1 : 0));
  };
  return { v4: merge(old?.v4 ?? [], answer.v4), v6: merge(old?.v6 ?? [], answer.v6) };
}

/** True when two answers allow the same addresses until the same times. */
export function sameResolved(a: ResolvedName | undefined, b: ResolvedName): boolean {
  const key = (r: ResolvedName): string => JSON.stringify([r.v4, r.v6]);
  return a !== undefined && key(a) === key(b);
}

/** True when two answers hold the same addresses, whatever their expiry. */
export function sameAddresses(a: ResolvedName | undefined, b: ResolvedName): boolean {
  const key = (r: ResolvedName | undefined): string => JSON.stringify([r?.v4.map((x) => x.addr) ?? [], r?.v6.map((x) => x.addr) ?? []]);
  return key(a) === key(b);
}

/** The apps that may reach this host directly (every app when the config's allowlist names it); undefined when nothing names it. */
export function appsUsing(world: World, name: string): string[] | undefined {
  if (world.allow?.names.includes(name)) return [...world.apps.keys()];
  const apps = [...world.apps.values()].filter((a) => a.allow?.names.includes(name)).map((a) => a.name);
  return apps.length ? apps : undefined;
}

/** The live addresses of these names at `now`, each once with its longest remaining life (pure). */
export function liveAddresses(world: Pick<World, 'resolved'>, names: readonly string[], now: number): { v4: Timed[]; v6: Timed[] } {
  const collect = (family: 'v4' | 'v6'): Timed[] => {
    const until = new Map<string, number>();
    for (const name of names) {
      for (const a of world.resolved?.get(name)?.[family] ?? []) {
        if (a.expiresAt > now) until.set(a.addr, Math.max(until.get(a.addr) ?? 0, a.expiresAt));
      }
    }
    return [...until].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([addr, expiresAt]) => ({ addr, timeoutMs: expiresAt - now }));
  };
  return { v4: collect('v4'), v6: collect('v6') };
}
