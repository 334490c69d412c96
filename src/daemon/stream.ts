import type { EventRecord, Status, StreamMessage } from '../ipc/protocol.js';

/**
 * The subscription stream: every subscriber gets a full status at once, each
 * event as it happens followed by a fresh status, and a status every second
 * (live packet counters) while it stays subscribed.
 */
export class StatusStream {
  private readonly subscribers = new Set<(m: StreamMessage) => void>();

  constructor(private readonly status: () => Promise<Status>, private readonly onUnsubscribe: () => void) {}

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(send: (m: StreamMessage) => void): () => void {
    this.subscribers.add(send);
    const push = (): void => void this.status().then((status) => send({ type: 'status', status }), () => undefined);
    push();
    const timer = setInterval(push, 1000);
    return () => {
      clearInterval(timer);
      this.subscribers.delete(send);
      this.onUnsubscribe();
    };
  }

  /** Sends an event, then a fresh status, to every subscriber. */
  async event(record: EventRecord): Promise<void> {
    if (this.subscribers.size === 0) return;
    for (const send of this.subscribers) send({ type: 'event', event: record });
    const status = await this.status().catch(() => undefined);
    if (status) for (const send of this.subscribers) send({ type: 'status', status });
  }
}
