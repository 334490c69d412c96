import { useAppActions } from '../hooks/use-app-actions.js';
import { useDaemon } from '../hooks/use-daemon.js';
import { useDashboardKeys } from '../hooks/use-dashboard-keys.js';
import { useNow } from '../hooks/use-now.js';
import { useTerminalSize } from '../hooks/use-terminal-size.js';
import type { DashboardSource } from '../source.js';
import { DashboardView } from './DashboardView.js';

/** Props: the daemon (injected) and the socket path to name when it is unreachable. */
export interface DashboardProps {
  readonly source: DashboardSource;
  readonly socketHint?: string | undefined;
  /** Pins the clock (tests); otherwise it ticks every second. */
  readonly now?: number | undefined;
}

/** The interactive dashboard: live model from the daemon, keys, actions. */
export function Dashboard({ source, socketHint, now: fixedNow }: DashboardProps) {
  const model = useDaemon(source);
  const size = useTerminalSize();
  const now = useNow(1000, fixedNow);
  const actions = useAppActions(source, model.connection.state === 'connected');
  const names = (model.status?.apps ?? []).map((a) => a.name);
  const ui = useDashboardKeys(names, Math.max(1, size.rows - 12), actions.run, actions.acknowledge);
  return (
    <DashboardView
      model={model}
      ui={ui}
      feedback={actions.feedback}
      columns={size.columns}
      rows={size.rows}
      now={now}
      socketHint={socketHint}
      interactive
    />
  );
}
