import { useApp, useInput } from 'ink';
import { useRef, useState } from 'react';
import { initialUi, interpretKey, type Ui } from '../keys.js';
import type { AppOp } from '../source.js';

/** Wires the keyboard to the UI state; `onAct` runs confirmed actions, `onKey` sees every press. */
export function useDashboardKeys(names: readonly string[], page: number, onAct: (op: AppOp, name: string) => void, onKey: () => void): Ui {
  const { exit } = useApp();
  const [ui, setUi] = useState<Ui>(initialUi);
  // Ink may deliver several keys before React re-renders; the ref always holds the latest state.
  const latest = useRef(ui);
  useInput((input, key) => {
    onKey();
    const result = interpretKey(latest.current, input, key, names, page);
    latest.current = result.ui;
    setUi(result.ui);
    if (result.act) onAct(result.act.op, result.act.name);
    if (result.quit) exit();
  });
  return ui;
}
