import { Box } from 'ink';
import type { Feedback } from '../feedback.js';
import { shareRows } from '../format/layout.js';
import { selectedIndex, type Ui } from '../keys.js';
import type { Model } from '../model.js';
import { AppsTable } from './AppsTable.js';
import { CONFIG_BANNER_ROWS, ConfigBanner } from './ConfigBanner.js';
import { CONNECTION_BANNER_ROWS, ConnectionBanner } from './ConnectionBanner.js';
import { EventLog } from './EventLog.js';
import { Footer, footerRows } from './Footer.js';
import { HelpOverlay } from './HelpOverlay.js';
import { TUNNEL_ROWS, TunnelPanel } from './TunnelPanel.js';

/** Everything one frame depends on; no I/O, so a frame can be drawn anywhere (tests, --once, README). */
export interface DashboardViewProps {
  readonly model: Model;
  readonly ui: Ui;
  readonly feedback: Feedback | null;
  readonly columns: number;
  /** Terminal rows; Infinity for a one-shot frame that lists every app. */
  readonly rows: number;
  readonly now: number;
  readonly socketHint?: string | undefined;
  /** False for one-shot frames: no cursor, no key line, no "reconnecting". */
  readonly interactive: boolean;
}

// Two section headers: the apps table's column titles and the events rule.
const HEADER_ROWS = 2;

/** The whole dashboard frame, fitted to `rows` − 1 lines (a full-height frame makes Ink clear the screen). */
export function DashboardView(p: DashboardViewProps) {
  const { model, ui, interactive } = p;
  const status = model.status;
  const apps = status?.apps ?? null;
  const lost = model.connection.state === 'lost';
  const configError = status?.config.error ?? null;
  const fixed = TUNNEL_ROWS + HEADER_ROWS
    + (lost ? CONNECTION_BANNER_ROWS : 0)
    + (configError !== null ? CONFIG_BANNER_ROWS : 0)
    + (interactive ? footerRows(p.feedback) : 0);
  const free = p.rows - 1 - fixed;
  const budget = shareRows(free, apps?.length ?? 0, model.events.length);
  const names = (apps ?? []).map((a) => a.name);
  const selected = interactive && names.length > 0 ? selectedIndex(ui, names) : -1;
  return (
    <Box flexDirection="column" width={p.columns}>
      <TunnelPanel status={status} connection={model.connection} now={p.now} />
      {lost && <ConnectionBanner connection={model.connection} socketHint={p.socketHint} retrying={interactive} />}
      {configError !== null && <ConfigBanner error={configError} />}
      {ui.mode.kind === 'help'
        ? <HelpOverlay height={free + HEADER_ROWS} />
        : (
          <>
            <AppsTable apps={apps} rates={model.rates} width={p.columns} capacity={budget.appRows} selected={selected} />
            <EventLog events={model.events} rows={budget.eventRows} width={p.columns} />
          </>
        )}
      {interactive && <Footer mode={ui.mode} feedback={p.feedback} processes={apps?.[selected]?.pids.length ?? 0} />}
    </Box>
  );
}
