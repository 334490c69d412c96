// Which daemon events become which desktop notification, for whom (pure). A notice is keyed by what
// it is about, one app or one tunnel, so a later notice about the same thing replaces it in place.
import type { AppStatus, EventRecord } from '../ipc/protocol.js';

/** What the agent knows of one app from the daemon's status: its owner, the tunnel it rides, whether it restarts. */
export interface AppFacts {
  readonly uid: number;
  readonly tunnel?: string;
  readonly restart: boolean;
}

/** The daemon as the agent sees it: whose agent this is, and every app by name. */
export interface View {
  readonly uid: number;
  readonly apps: ReadonlyMap<string, AppFacts>;
}

/** The agent's view from a status's apps (pure). */
export function viewOf(apps: readonly AppStatus[], uid: number): View {
  return { uid, apps: new Map(apps.map((a) => [a.name, { uid: a.uid, restart: a.restart, ...(a.tunnel === undefined ? {} : { tunnel: a.tunnel }) }])) };
}

/** What a notice says happened. */
export type NoticeState = 'frozen' | 'killed' | 'blocked' | 'needs-restart' | 'running' | 'unblocked' | 'moved' | 'restarted' | 'down' | 'up';

/** An action a notice offers: thaw the app through the daemon, or open the dashboard. */
export type NoticeAction = 'thaw' | 'dashboard';

/** One desktop notification, before coalescing. */
export interface Notice {
  /** What it is about, and so what it replaces: `app:NAME` or `tunnel:IFACE`. */
  readonly key: string;
  /** The app or tunnel name. */
  readonly subject: string;
  readonly state: NoticeState;
  /** The daemon's reason (the event's detail), e.g. `tunnel wg0 down: handshake older than 180 s`. */
  readonly reason: string;
  readonly summary: string;
  readonly body: string;
  /** Critical for what cuts an app off, normal for what restores it. */
  readonly urgency: 'normal' | 'critical';
  readonly actions: readonly NoticeAction[];
}

const APP_STATES: Readonly<Record<string, NoticeState>> = {
  'app-frozen': 'frozen', 'app-killed': 'killed', 'app-blocked': 'blocked', 'app-needs-restart': 'needs-restart',
  'app-thawed': 'running', 'app-unblocked': 'unblocked', 'app-moved': 'moved', 'app-restart': 'restarted',
};
const CUT_OFF: ReadonlySet<NoticeState> = new Set(['frozen', 'killed', 'blocked', 'needs-restart', 'down']);

/** True for an event about an app that the agent would notify of, were it this user's. */
export function isAppNotice(e: EventRecord): e is EventRecord & { app: string } {
  return e.app !== undefined && APP_STATES[e.type] !== undefined;
}

/** The notice for one event, or undefined when it is not for this user or not worth a bubble (pure). */
export function noticeFor(e: EventRecord, view: View): Notice | undefined {
  if (e.type === 'tunnel-down' || e.type === 'tunnel-up') return tunnelNotice(e, view);
  if (!isAppNotice(e)) return undefined;
  const facts = view.apps.get(e.app);
  if (facts?.uid !== view.uid) return undefined;
  const state = APP_STATES[e.type]!;
  const reason = e.detail ?? '';
  const [summary, todo] = appWords(e.app, state, reason, facts);
  return notice(`app:${e.app}`, e.app, state, reason, summary, todo, state === 'frozen' ? ['thaw', 'dashboard'] : ['dashboard']);
}

/** The summary and the what-to-do line of an app's notice. */
function appWords(app: string, state: NoticeState, reason: string, facts: AppFacts): [string, string] {
  const byRequest = reason === 'by request';
  switch (state) {
    case 'frozen':
      return [`${app} frozen`, byRequest ? `It stays frozen until you thaw it (Thaw now, or \`ksapp thaw ${app}\`).`
        : 'It is paused, not closed, and resumes by itself when the tunnel is back. Reconnect the VPN to bring it back sooner.'];
    case 'killed':
      return [`${app} killed`, byRequest ? 'Killed by request.' : facts.restart ? 'It is started again when the tunnel is back.' : 'Start it again once the tunnel is back.'];
    case 'blocked':
      return [`${app} blocked`, 'It keeps running, but nothing it sends leaves the machine until the tunnel is back.'];
    case 'needs-restart':
      return [`${app} needs a restart`, `It holds connections opened before ksapp protected it, so it stays frozen: quit it (\`ksapp kill ${app}\`) and start it again through ksapp.`];
    case 'running':
      return [`${app} running again`, byRequest ? 'Thawed by request.' : 'Its traffic goes through the tunnel again.'];
    case 'unblocked':
      return [`${app} unblocked`, 'Its traffic goes through the tunnel again.'];
    case 'moved': {
      const to = /^from \S+ to (\S+?):/.exec(reason)?.[1];
      return [to ? `${app} moved to tunnel ${to}` : `${app} moved to another tunnel`, 'Connections it had were closed; it reconnects through the new tunnel.'];
    }
    default:
      return [`${app} started again`, 'Started again now that the tunnel is back.'];
  }
}

/** A tunnel going down or coming back, with this user's apps that ride it. */
function tunnelNotice(e: EventRecord, view: View): Notice {
  const iface = e.tunnel ?? 'the tunnel';
  const mine = [...view.apps].filter(([, f]) => f.uid === view.uid && (e.tunnel === undefined || f.tunnel === undefined || f.tunnel === e.tunnel)).map(([name]) => name);
  const reason = e.detail ?? '';
  if (e.type === 'tunnel-down') {
    const apps = mine.length ? `Your apps on it cannot reach the network: ${mine.join(', ')}.` : 'None of your protected apps rides it.';
    return notice(`tunnel:${iface}`, iface, 'down', reason, `VPN tunnel ${iface} is down`, `${apps} Reconnect the VPN; ksapp lets them out again once it is back.`, ['dashboard']);
  }
  const apps = mine.length ? `Your apps on it are back online: ${mine.join(', ')}.` : 'Protected apps on it are back online.';
  return notice(`tunnel:${iface}`, iface, 'up', reason, `VPN tunnel ${iface} is back`, apps, ['dashboard']);
}

function notice(key: string, subject: string, state: NoticeState, reason: string, summary: string, todo: string, actions: readonly NoticeAction[]): Notice {
  const why = reason && reason !== 'by request' ? `Reason: ${reason}.\n` : '';
  return { key, subject, state, reason, summary, body: `${why}${todo}`, urgency: CUT_OFF.has(state) ? 'critical' : 'normal', actions };
}

/** The body as posted: with a line saying how many changes it folds when it folds several (pure). */
export function bodyWithHistory(n: Notice, changes: number, spanMs: number): string {
  if (changes < 2) return n.body;
  return `${n.body}\n(${changes} changes in ${Math.max(1, Math.round(spanMs / 1000))} s; this is how it stands now.)`;
}
