import type { EventRecord, Status, StreamMessage } from '../ipc/protocol.js';

/** How long statuses are held after an event, so a burst (100 apps frozen at once) costs one status, not 100. */
const COALESCE_MS = 30;

/**
 * The subscription stream: every subscriber gets each event as it happens;
 * status subscribers (the dashboard) also get a full status at once, a fresh
 * one after each burst of events, and one every second (live packet
 * counters). One status serves every subscriber, and with no status
 * subscriber no status is built at all: `ksapp run` clients only wait for
 * events, so an idle daemon with running apps does no periodic work.
 */
export class StatusStream {
  private readonly subscribers = new Map<(m: StreamMessage) => void, { status: boolean }>();
  private ticker: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly status: () => Promise<Status>, private readonly onUnsubscribe: () => void) {}

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(send: (m: StreamMessage) => void, options: { status: boolean } = { status: true }): () => void {
    this.subscribers.set(send, options);
    if (options.status) {
      void this.status().then((status) => send({ type: 'status', status }), () => undefined);
      this.ticker ??= setInterval(() => void this.broadcast(), 1000);
    }
    return () => {
      this.subscribers.delete(send);
      if (!this.wantsStatus()) {
        clearInterval(this.ticker);
        this.ticker = undefined;
      }
      this.onUnsubscribe();
    };
  }

  /** Sends an event to every subscriber at once; a fresh status follows once the burst is over. */
  event(record: EventRecord): void {
    for (const send of this.subscribers.keys()) send({ type: 'event', event: record });
    if (!this.wantsStatus()) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(() => void this.broadcast(), COALESCE_MS);
  }

  private wantsStatus(): boolean {
    for (const o of this.subscribers.values()) if (o.status) return true;
    return false;
  }

  private async broadcast(): Promise<void> {
    if (!this.wantsStatus()) return;
    const status = await this.status().catch(() => undefined);
    if (status) for (const [send, o] of this.subscribers) if (o.status) send({ type: 'status', status });
  }
}
