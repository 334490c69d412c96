import { useEffect, useReducer, useRef } from 'react';
import { initialModel, reduceAll, type Model, type ModelAction } from '../model.js';
import type { DashboardSource } from '../source.js';

/** Messages arriving within this window are drawn in one render (a burst of 50 app events is one frame). */
export const BATCH_MS = 16;

/** Subscribes to the daemon through `source` and returns the model of what it said. */
export function useDaemon(source: DashboardSource): Model {
  const [model, dispatch] = useReducer(reduceAll, undefined, () => initialModel(Date.now()));
  const queue = useRef<ModelAction[]>([]);
  useEffect(() => {
    let timer: NodeJS.Timeout | undefined;
    const push = (action: ModelAction) => {
      queue.current.push(action);
      timer ??= setTimeout(() => {
        timer = undefined;
        const batch = queue.current;
        queue.current = [];
        dispatch(batch);
      }, BATCH_MS);
    };
    const unsubscribe = source.subscribe(
      (message) => push({ kind: 'message', message, at: Date.now() }),
      (connected, reason) => push({ kind: 'connection', connected, reason, at: Date.now() }),
    );
    return () => {
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [source]);
  return model;
}
