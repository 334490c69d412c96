import type { EventRecord } from '../ipc/protocol.js';
import { appendOwnFile } from '../ipc/safe-files.js';
import type { SupervisorEvent } from '../supervisor/index.js';

/** Keeps the latest events in memory (bounded) and appends every event to a JSON-lines file. */
export class EventLog {
  private readonly recent: EventRecord[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string | null, private readonly limit = 200) {}

  /** Records one event; returns it in its wire form. */
  add(event: SupervisorEvent): EventRecord {
    const record: EventRecord = { ...event, at: new Date(event.at).toISOString() };
    this.recent.push(record);
    if (this.recent.length > this.limit) this.recent.splice(0, this.recent.length - this.limit);
    const file = this.file;
    if (file) this.writing = this.writing.then(() => appendOwnFile(file, `${JSON.stringify({ ...event })}\n`)).catch(() => undefined);
    return record;
  }

  /** The latest events, oldest first. */
  latest(count = this.limit): EventRecord[] {
    return this.recent.slice(-count);
  }

  /** The last reaction time recorded for a transition of this tunnel (of any, without one), ms. */
  lastReactionMs(tunnel?: string): number | null {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const e = this.recent[i]!;
      if ((e.type === 'tunnel-down' || e.type === 'tunnel-up') && e.reactionMs !== undefined && (tunnel === undefined || e.tunnel === undefined || e.tunnel === tunnel)) return e.reactionMs;
    }
    return null;
  }

  /** Resolves when every event so far is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }
}
