// Live rates from successive statuses: the daemon sends counters, the
// dashboard divides their growth by the time between two snapshots.
import type { Status } from '../src/ipc/protocol.js';

/** A status and when the dashboard received it (ms since the epoch). */
export interface Sample {
  readonly status: Status;
  readonly at: number;
}

/** Per-second rates of one app; null when unknown (new app, counters reset). */
export interface AppRates {
  readonly packetsPerSec: number | null;
  readonly bytesPerSec: number | null;
  readonly droppedPerSec: number | null;
}

function perSecond(before: number, after: number, seconds: number): number | null {
  // A counter that went down was reset (app restarted, ruleset replaced): no honest rate.
  if (after < before) return null;
  return (after - before) / seconds;
}

/** Rates of every app present in both samples, keyed by app name; empty when no time passed. */
export function computeRates(prev: Sample, cur: Sample): Map<string, AppRates> {
  const rates = new Map<string, AppRates>();
  const seconds = (cur.at - prev.at) / 1000;
  if (!(seconds > 0)) return rates;
  const before = new Map(prev.status.apps.map((a) => [a.name, a]));
  for (const app of cur.status.apps) {
    const old = before.get(app.name);
    if (old === undefined) continue;
    rates.set(app.name, {
      packetsPerSec: perSecond(old.packets.tunnel, app.packets.tunnel, seconds),
      bytesPerSec: perSecond(old.bytes.tunnel, app.bytes.tunnel, seconds),
      droppedPerSec: perSecond(old.packets.dropped, app.packets.dropped, seconds),
    });
  }
  return rates;
}
