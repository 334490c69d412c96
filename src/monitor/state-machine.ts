// The decision, kept pure: source health reports in, up/down transitions out, time only
// through the `at` of each input. Any unhealthy source means down at once (soft signals
// such as one lost probe are already debounced by their source). Up needs every enabled
// source healthy, continuously, for the current hold time; the hold doubles with each
// flap (a down after a short up) and falls back to the base after a stable up period, so a
// tunnel flapping ten times in two seconds thaws and freezes apps a handful of times at
// most instead of twenty.

/** Tunnel state as the supervisor sees it. */
export type TunnelState = 'up' | 'down';

/** One health report of one source at time `at` (ms). */
export interface HealthInput {
  source: string;
  healthy: boolean;
  reason: string;
  at: number;
}

/** A change of the tunnel state. */
export interface Transition {
  state: TunnelState;
  reason: string;
  at: number;
  source: string;
}

/** Hold-down tuning; times in ms. */
export interface HoldOptions {
  /** Healthy time required before up after a down; default 250. */
  holdMs?: number;
  /** Cap of the doubled hold; default 30 000. */
  maxHoldMs?: number;
  /** An up period at least this long resets the hold to the base; default 10 000. */
  stableMs?: number;
}

/** The monitor's state machine over a fixed set of enabled sources. */
export class TunnelStateMachine {
  /** Current state; starts down, because nothing has been proven yet. */
  state: TunnelState = 'down';
  /** When the current state began (ms). */
  since: number;
  private readonly health = new Map<string, { healthy: boolean; reason: string }>();
  private healthySince: number | null = null;
  private lastTurnedHealthy = '';
  private everUp = false;
  private flaps = 0;
  private readonly base: number;
  private readonly max: number;
  private readonly stable: number;

  constructor(private readonly sources: readonly string[], start: number, opts: HoldOptions = {}) {
    this.since = start;
    this.base = opts.holdMs ?? 250;
    this.max = opts.maxHoldMs ?? 30_000;
    this.stable = opts.stableMs ?? 10_000;
  }

  /** The hold currently required before up (0 before the first up). */
  get holdMs(): number {
    return this.everUp ? Math.min(this.base * 2 ** this.flaps, this.max) : 0;
  }

  /** Why the tunnel is in its state: the first unhealthy source's reason, or all healthy. */
  get reason(): { source: string; reason: string } {
    for (const name of this.sources) {
      const h = this.health.get(name);
      if (!h) return { source: name, reason: `waiting for ${name}` };
      if (!h.healthy) return { source: name, reason: h.reason };
    }
    return { source: this.lastTurnedHealthy, reason: this.state === 'up' ? 'all sources healthy' : `holding down for ${this.holdMs} ms before up` };
  }

  /** Feeds one report; returns the transitions it causes (at most one). */
  update(input: HealthInput): Transition[] {
    if (!this.sources.includes(input.source)) return [];
    const was = this.health.get(input.source);
    this.health.set(input.source, { healthy: input.healthy, reason: input.reason });
    if (!input.healthy) {
      this.healthySince = null;
      if (this.state === 'down') return [];
      this.flaps = input.at - this.since < this.stable ? this.flaps + 1 : 0;
      return [this.go('down', input.reason, input.at, input.source)];
    }
    if (was?.healthy !== true) this.lastTurnedHealthy = input.source;
    if (this.healthySince === null && this.allHealthy()) this.healthySince = input.at;
    return this.tick(input.at);
  }

  /** Re-evaluates at `now` (call at nextDeadline()); returns the up transition when the hold has passed. */
  tick(now: number): Transition[] {
    const due = this.nextDeadline();
    if (due === null || now < due) return [];
    return [this.go('up', 'all sources healthy', now, this.lastTurnedHealthy)];
  }

  /** When tick() may next bring the tunnel up, or null when nothing is pending. */
  nextDeadline(): number | null {
    if (this.state === 'up' || this.healthySince === null) return null;
    return this.healthySince + this.holdMs;
  }

  private allHealthy(): boolean {
    return this.sources.every((s) => this.health.get(s)?.healthy === true);
  }

  private go(state: TunnelState, reason: string, at: number, source: string): Transition {
    this.state = state;
    this.since = at;
    if (state === 'up') this.everUp = true;
    return { state, reason, at, source };
  }
}
