// When to post (pure, time only as data): a quiet key posts its first notice after a short gather
// (so one reaction's burst, tunnel and apps, lands together); a key posted a moment ago holds what
// comes next until its hold has passed, then posts only how things stand now (with how often it
// changed meanwhile), and nothing when a single repeat says what the bubble already shows. The
// hold doubles while the key keeps changing and falls back after a quiet spell, so a tunnel
// flapping forty times makes a handful of bubbles, each replacing the last, the last one telling
// the final state.
import type { Notice } from './notice.js';

/** Coalescing tuning; times in ms. */
export interface CoalesceOptions {
  /** Wait after the first notice of a quiet key, to fold its burst; default 300. */
  readonly gatherMs?: number;
  /** Least time between two posts of one key; default 3000. */
  readonly holdMs?: number;
  /** Cap of the doubled hold; default 60 000. */
  readonly maxHoldMs?: number;
  /** A key quiet this long since its last post gets the base hold back; default 60 000. */
  readonly quietMs?: number;
}

/** One notification to post now: the latest notice of its key and how many changes it folds. */
export interface Post {
  readonly notice: Notice;
  /** Notices folded into this one, itself included. */
  readonly changes: number;
  /** From the first folded notice to the post, ms. */
  readonly spanMs: number;
}

interface Slot {
  shown?: Notice;
  postedAt?: number;
  hold: number;
  pending?: { notice: Notice; changes: number; since: number; dueAt: number };
}

/** Per-key coalescing of notices: `add` them, `take` what is due, sleep until `nextDeadline`. */
export class Coalescer {
  private readonly slots = new Map<string, Slot>();
  private readonly gather: number;
  private readonly base: number;
  private readonly max: number;
  private readonly quiet: number;

  constructor(opts: CoalesceOptions = {}) {
    this.gather = opts.gatherMs ?? 300;
    this.base = opts.holdMs ?? 3000;
    this.max = opts.maxHoldMs ?? 60_000;
    this.quiet = opts.quietMs ?? 60_000;
  }

  /** Takes a notice at time `now`. */
  add(notice: Notice, now: number): void {
    const slot = this.slots.get(notice.key) ?? { hold: this.base };
    this.slots.set(notice.key, slot);
    if (slot.pending) {
      slot.pending = { ...slot.pending, notice, changes: slot.pending.changes + 1 };
      return;
    }
    const since = slot.postedAt === undefined ? Infinity : now - slot.postedAt;
    if (since >= this.quiet) slot.hold = this.base;
    if (since >= slot.hold) {
      slot.pending = { notice, changes: 1, since: now, dueAt: now + this.gather };
      return;
    }
    // Changing again within its hold: wait out the hold, and make the next one longer.
    slot.pending = { notice, changes: 1, since: now, dueAt: slot.postedAt! + slot.hold };
    slot.hold = Math.min(slot.hold * 2, this.max);
  }

  /**
   * The posts due at `now`, oldest key first. A key whose one new notice is
   * what its bubble already shows posts nothing; one that changed and came
   * back posts again, saying how often it changed.
   */
  take(now: number): Post[] {
    const posts: Post[] = [];
    for (const slot of this.slots.values()) {
      const p = slot.pending;
      if (!p || p.dueAt > now) continue;
      slot.pending = undefined;
      if (slot.shown && p.changes === 1 && same(slot.shown, p.notice)) continue;
      slot.shown = p.notice;
      slot.postedAt = now;
      posts.push({ notice: p.notice, changes: p.changes, spanMs: now - p.since });
    }
    return posts;
  }

  /**
   * Says the user acted on the bubble of `key` (it may now show the answer):
   * its next notice posts after the gather, even if unchanged.
   */
  replaced(key: string, now: number): void {
    const p = this.slots.get(key)?.pending;
    this.slots.set(key, { hold: this.base, ...(p ? { pending: { ...p, dueAt: Math.min(p.dueAt, now + this.gather) } } : {}) });
  }

  /** When `take` next has something, or undefined when nothing waits. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const s of this.slots.values()) if (s.pending && (next === undefined || s.pending.dueAt < next)) next = s.pending.dueAt;
    return next;
  }
}

/** Two notices that would show the same bubble. */
function same(a: Notice, b: Notice): boolean {
  return a.state === b.state && a.reason === b.reason && a.body === b.body;
}
