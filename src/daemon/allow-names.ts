// Allowlisted host names: looked up through the machine's resolver, again
// before their records expire, and handed to the supervisor as inputs.
import { promises as dns } from 'node:dns';
import { splitAllow } from '../config/allow.js';
import type { ResolvedName, SupervisorEvent } from '../supervisor/index.js';

/** One family's records: address and TTL in seconds. */
export interface Records { readonly v4: ReadonlyArray<{ address: string; ttl: number }>; readonly v6: ReadonlyArray<{ address: string; ttl: number }> }

/** Looks a name up; throws when no answer came (a timeout, a refused or failed server), returns empty families for "no such record". */
export type NameLookup = (name: string) => Promise<Records>;

/** An address stays allowed at least this long, whatever its TTL: a record with TTL 0 would otherwise reload the ruleset in a loop. */
export const MIN_LIFE_MS = 5_000;
/** And at most this long without a fresh answer. */
export const MAX_LIFE_MS = 86_400_000;
/** A name without records is asked again after this long. */
export const NO_RECORD_RETRY_MS = 15_000;
/** A failed lookup is retried after this, doubling up to FAILURE_RETRY_MAX_MS. */
export const FAILURE_RETRY_MS = 1_000;
export const FAILURE_RETRY_MAX_MS = 30_000;

const NO_RECORD = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN', 'ENONAME']);

/** Looks up through the machine's resolver (resolv.conf, read afresh for every lookup), with the records' TTLs. */
export const systemLookup: NameLookup = async (name) => {
  const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  const family = async (query: Promise<Array<{ address: string; ttl: number }>>): Promise<Array<{ address: string; ttl: number }>> => {
    try {
      return await query;
    } catch (error) {
      if (NO_RECORD.has((error as NodeJS.ErrnoException).code ?? '')) return [];
      throw error;
    }
  };
  const [v4, v6] = await Promise.all([family(resolver.resolve4(name, { ttl: true })), family(resolver.resolve6(name, { ttl: true }))]);
  return { v4, v6 };
};

/** The answer as the supervisor takes it: each address until its record expires (pure). */
export function answerFrom(records: Records, at: number): ResolvedName {
  const life = (ttl: number): number => Math.min(MAX_LIFE_MS, Math.max(MIN_LIFE_MS, ttl * 1000));
  const timed = (rs: Records['v4']): Array<{ addr: string; expiresAt: number }> => rs.map((r) => ({ addr: r.address, expiresAt: at + life(r.ttl) }));
  return { v4: timed(records.v4), v6: timed(records.v6) };
}

/**
 * When to look again (pure): at three quarters of the shortest record's life,
 * so the renewed entry is in before the old one expires; a name without
 * records later; a failed lookup soon, backing off.
 */
export function nextLookupIn(answer: ResolvedName | undefined, at: number, failures: number): number {
  if (answer === undefined) return Math.min(FAILURE_RETRY_MAX_MS, FAILURE_RETRY_MS * 2 ** Math.max(0, failures - 1));
  const expiries = [...answer.v4, ...answer.v6].map((a) => a.expiresAt);
  if (expiries.length === 0) return NO_RECORD_RETRY_MS;
  return Math.max(1000, Math.floor(0.75 * (Math.min(...expiries) - at)));
}

interface Watched { timer?: NodeJS.Timeout; failures: number; shown: string }

/**
 * Keeps every allowlisted name looked up. It owns only its timers: what the
 * names resolve to lives in the supervisor's world, which the answers go to.
 */
export class AllowNameWatch {
  private readonly names = new Map<string, Watched>();
  private stopped = false;

  constructor(
    private readonly deliver: (name: string, answer: ResolvedName, at: number) => Promise<void>,
    private readonly record: (e: Omit<SupervisorEvent, 'at'>) => void,
    private readonly lookup: NameLookup = systemLookup,
  ) {}

  /** Watches exactly these names from now on: new ones are looked up at once, dropped ones forgotten. */
  watch(names: readonly string[]): void {
    if (this.stopped) return;
    const wanted = new Set(names);
    for (const [name, w] of this.names) {
      if (!wanted.has(name)) {
        clearTimeout(w.timer);
        this.names.delete(name);
      }
    }
    for (const name of wanted) {
      if (this.names.has(name)) continue;
      this.names.set(name, { failures: 0, shown: '' });
      void this.look(name);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.names.values()) clearTimeout(w.timer);
    this.names.clear();
  }

  private async look(name: string): Promise<void> {
    const at = Date.now();
    let answer: ResolvedName | undefined;
    let problem: string | undefined;
    try {
      answer = answerFrom(await this.lookup(name), at);
    } catch (error) {
      problem = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    }
    const w = this.names.get(name);
    if (!w || this.stopped) return;
    w.failures = answer ? 0 : w.failures + 1;
    this.tell(name, w, answer, problem);
    // A failed lookup changes nothing: what was allowed stays until its records expire (the kernel drops it then).
    if (answer) await this.deliver(name, answer, at).catch((error: unknown) => this.record({ type: 'error', detail: `allowlist ${name}: ${String(error)}` }));
    if (this.names.get(name) !== w || this.stopped) return;
    w.timer = setTimeout(() => void this.look(name), nextLookupIn(answer, at, w.failures));
    w.timer.unref();
  }

  /** Logs what a name resolves to when that changes, and a lookup that failed (once per run of failures). */
  private tell(name: string, w: Watched, answer: ResolvedName | undefined, problem: string | undefined): void {
    let shown: string;
    if (!answer) shown = `${name}: lookup failed (${problem ?? 'no answer'}); its addresses stay allowed until their records expire, and it is asked again`;
    else {
      const addrs = [...answer.v4, ...answer.v6].map((a) => a.addr);
      shown = addrs.length ? `${name} → ${addrs.join(', ')}` : `${name}: no address record; nothing new is allowed for it`;
    }
    if (shown === w.shown) return;
    w.shown = shown;
    this.record({ type: 'allow-resolved', detail: shown });
  }
}

/** Every host name a config allows: its global list's and its apps' (pure). */
export function configNames(config: { allow: readonly string[]; apps: ReadonlyArray<{ allow?: readonly string[] }> }): string[] {
  return [...new Set([...splitAllow(config.allow).names, ...config.apps.flatMap((a) => splitAllow(a.allow ?? []).names)])];
}
