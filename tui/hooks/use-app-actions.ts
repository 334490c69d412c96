import { useCallback, useEffect, useRef, useState } from 'react';
import { offlineFeedback, pendingFeedback, resultFeedback, type Feedback } from '../feedback.js';
import type { AppOp, DashboardSource } from '../source.js';

/** Sends actions to the daemon and keeps the footer's feedback about the last one. */
export function useAppActions(source: DashboardSource, connected: boolean) {
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const mounted = useRef(true);
  useEffect(() => () => {
    mounted.current = false;
  }, []);
  const run = useCallback((op: AppOp, name: string) => {
    if (!connected) {
      setFeedback(offlineFeedback(op, name));
      return;
    }
    setFeedback(pendingFeedback(op, name));
    source.act(op, name).then(
      (response) => mounted.current && setFeedback(resultFeedback(op, name, response)),
      (error: unknown) => mounted.current && setFeedback(resultFeedback(op, name, error instanceof Error ? error : new Error(String(error)))),
    );
  }, [source, connected]);
  // A key press acknowledges a finished action's message; a pending one stays until answered.
  const acknowledge = useCallback(() => setFeedback((f) => (f !== null && f.kind !== 'pending' ? null : f)), []);
  return { feedback, run, acknowledge };
}
