import { useEffect, useState } from 'react';

/** The current time, refreshed every `intervalMs` so "5s ago" texts move; `fixed` pins it (tests, --once). */
export function useNow(intervalMs = 1000, fixed?: number): number {
  const [now, setNow] = useState(() => fixed ?? Date.now());
  useEffect(() => {
    if (fixed !== undefined) return undefined;
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, fixed]);
  return fixed ?? now;
}
