// WireGuard handshake age from `wg show IFACE dump`. This source polls: handshakes are
// minutes-scale (WireGuard rekeys every 2 min under traffic and gives a session up after
// 3 min), so a poll every few seconds costs nothing and loses nothing. The next poll is
// also scheduled for the moment the newest handshake would pass the limit, so staleness
// is seen within ~1 s of it happening rather than up to one poll period late.
// Note: an idle tunnel without traffic or persistent-keepalive stops shaking hands; the
// probe source (or persistent-keepalive) keeps handshakes fresh.
import { EventEmitter } from 'node:events';
import { runTool, tools } from '../tools.js';
import type { SourceHealth } from './source.js';
import { handshakeHealth, newestHandshakeAgeMs, parseWgDump } from './wg-dump-parse.js';

/** Options of the handshake source. */
export interface HandshakeSourceOptions {
  iface: string;
  timeoutMs: number;
  /** Poll period; default min(5 s, timeout / 4), at least 1 s. */
  pollMs?: number;
  /** Wall clock in epoch ms (handshake times are epoch seconds). */
  clock?: () => number;
  wg?: string;
}

/** Emits `health` (SourceHealth) from the WireGuard handshake age. */
export class HandshakeSource extends EventEmitter {
  /** Epoch ms of the newest handshake seen; null = never or unknown. */
  newestHandshakeMs: number | null = null;
  /** The peers' endpoints (`addr:port`) as last read; `endpoints` is emitted when they change. */
  endpoints: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private polling: Promise<void> | undefined;
  private current: SourceHealth | undefined;
  private readonly pollMs: number;
  private readonly clock: () => number;

  constructor(private readonly opts: HandshakeSourceOptions) {
    super();
    this.pollMs = opts.pollMs ?? Math.max(1000, Math.min(5000, opts.timeoutMs / 4));
    this.clock = opts.clock ?? Date.now;
  }

  /** The last health reported, if any. */
  get health(): SourceHealth | undefined {
    return this.current;
  }

  /** Age of the newest handshake now; null = never or unknown. */
  get ageMs(): number | null {
    return this.newestHandshakeMs === null ? null : Math.max(0, this.clock() - this.newestHandshakeMs);
  }

  /** Polls once now (resolving after it) and then periodically. */
  async start(): Promise<void> {
    this.running = true;
    await this.poll();
  }

  /** Stops polling and waits for an in-flight `wg show` to end. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.polling;
  }

  private poll(): Promise<void> {
    this.polling = this.pollOnce();
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let next = this.pollMs;
    try {
      const dump = parseWgDump(await runTool(this.opts.wg ?? tools.wg, ['show', this.opts.iface, 'dump']));
      const detectedAt = process.hrtime.bigint();
      const endpoints = dump.peers.flatMap((p) => (p.endpoint === null ? [] : [p.endpoint])).sort();
      if (endpoints.join(' ') !== this.endpoints.join(' ')) {
        this.endpoints = endpoints;
        this.emit('endpoints', endpoints);
      }
      const now = this.clock();
      const age = newestHandshakeAgeMs(dump, now);
      this.newestHandshakeMs = age === null ? null : now - age;
      this.report({ ...handshakeHealth(age, dump.peers.length, this.opts.timeoutMs), detectedAt });
      if (age !== null && age <= this.opts.timeoutMs) next = Math.min(next, this.opts.timeoutMs - age + 1000);
    } catch (error) {
      this.newestHandshakeMs = null;
      const message = error instanceof Error ? error.message : String(error);
      this.report({ healthy: false, reason: `cannot read WireGuard state of ${this.opts.iface}: ${message}`, detectedAt: process.hrtime.bigint() });
    }
    if (this.running) this.timer = setTimeout(() => void this.poll(), next);
  }

  private report(h: SourceHealth): void {
    if (this.current && this.current.healthy === h.healthy && this.current.reason === h.reason) return;
    this.current = h;
    this.emit('health', h);
  }
}
