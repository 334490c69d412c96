import type { EventRecord, Status, StreamMessage } from '../ipc/protocol.js';

/** How long statuses are held after an event, so a burst (100 apps frozen at once) costs one status, not 100. */
const COALESCE_MS = 30;

/**
 * The subscription stream: every subscriber gets a full status at once, each
 * event as it happens followed by a fresh status, and a status every second
 * (live packet counters). One status serves every subscriber.
 */
export class StatusStream {
  private readonly subscribers = new Set<(m: StreamMessage) => void>();
  private ticker: NodeJS.Timeout | undefined;
  private pending: NodeJS.Timeout | undefined;

  constructor(private readonly status: () => Promise<Status>, private readonly onUnsubscribe: () => void) {}

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(send: (m: StreamMessage) => void): () => void {
    this.subscribers.add(send);
    void this.status().then((status) => send({ type: 'status', status }), () => undefined);
    this.ticker ??= setInterval(() => void this.broadcast(), 1000);
    return () => {
      this.subscribers.delete(send);
      if (this.subscribers.size === 0) {
        clearInterval(this.ticker);
        this.ticker = undefined;
      }
      this.onUnsubscribe();
    };
  }

  /** Sends an event to every subscriber at once; a fresh status follows once the burst is over. */
  event(record: EventRecord): void {
    if (this.subscribers.size === 0) return;
    for (const send of this.subscribers) send({ type: 'event', event: record });
    clearTimeout(this.pending);
    this.pending = setTimeout(() => void this.broadcast(), COALESCE_MS);
  }

  private async broadcast(): Promise<void> {
    if (this.subscribers.size === 0) return;
    const status = await this.status().catch(() => undefined);
    if (status) for (const send of this.subscribers) send({ type: 'status', status });
  }
}
