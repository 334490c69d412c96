// Compact number, size, rate and time formats sized for narrow table cells.

/** Placeholder for a value that is unknown (no sample yet, no probe). */
export const UNKNOWN = '–';

function scaled(n: number, units: readonly string[], base: number): string {
  let value = n;
  let i = 0;
  while (Math.abs(value) >= base && i < units.length - 1) {
    value /= base;
    i++;
  }
  // One decimal only while it still fits the cell and still says something.
  let text = value.toFixed(i > 0 && Math.abs(value) < 10 ? 1 : 0);
  if (Math.abs(Number(text)) >= base && i < units.length - 1) {
    // 999.7 rounds up to "1000": say 1.0k instead.
    i++;
    text = (value / base).toFixed(1);
  }
  return `${text}${units[i]}`;
}

/** A count in at most 5 characters: 999, 12.3k, 456k, 7.8M, 1.2G. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return UNKNOWN;
  return scaled(Math.round(n), ['', 'k', 'M', 'G', 'T'], 1000);
}

/** A byte count in at most 5 characters, SI units as network tools use: 512B, 1.2kB, 34MB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return UNKNOWN;
  return scaled(Math.round(n), ['B', 'kB', 'MB', 'GB', 'TB'], 1000);
}

/** A per-second rate; `null` (no two samples yet) shows as unknown. */
export function formatRate(perSecond: number | null, kind: 'bytes' | 'count'): string {
  if (perSecond === null) return UNKNOWN;
  if (perSecond > 0 && perSecond < 1) return kind === 'bytes' ? '<1B/s' : '<1/s';
  return `${kind === 'bytes' ? formatBytes(perSecond) : formatCount(perSecond)}/s`;
}

/** A short duration: 850ms, 4.2s, 12s, 5m 12s, 3h 04m, 2d 3h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return UNKNOWN;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Milliseconds as a latency figure (probe RTT, reaction time): 0.4 ms, 12 ms, 1.3 s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return UNKNOWN;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Local wall-clock time of an ISO timestamp, HH:MM:SS; unknown when unparseable. */
export function formatClock(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '--:--:--';
  const d = new Date(t);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}

/** How long ago an ISO timestamp was, relative to `now` (ms since the epoch). */
export function formatAgo(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return UNKNOWN;
  return `${formatDuration(Math.max(0, now - t))} ago`;
}
