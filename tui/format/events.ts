// One line of the event log per record: time, symbol, what happened, to what.
import type { EventRecord } from '../../src/ipc/protocol.js';
import type { Look } from './states.js';
import { formatClock, formatMs } from './units.js';

// Keyed by the daemon's event types (SupervisorEvent plus config events);
// aliases cover the spellings a daemon may use for the same thing.
const LOOKS: Readonly<Record<string, Look>> = {
  'tunnel-down': { symbol: '▼', label: 'kill switch on', tone: 'red' },
  'tunnel-up': { symbol: '▲', label: 'tunnel back', tone: 'green' },
  'app-added': { symbol: '+', label: 'protected', tone: 'green' },
  'app-started': { symbol: '+', label: 'started', tone: 'green' },
  'app-adopted': { symbol: '+', label: 'adopted', tone: 'green' },
  'app-needs-restart': { symbol: '↻', label: 'needs restart', tone: 'red' },
  'dns-bypass': { symbol: '⚠', label: 'DNS bypass', tone: 'yellow' },
  'exec-watch': { symbol: '◎', label: 'exec watch', tone: 'yellow' },
  'state-dropped': { symbol: '⚠', label: 'saved state refused', tone: 'red' },
  'exec-guard': { symbol: '◉', label: 'exec guard', tone: 'yellow' },
  'tunnel-reason': { symbol: '▼', label: 'tunnel down', tone: 'red' },
  'monitor-warning': { symbol: '⚠', label: 'monitor', tone: 'yellow' },
  'app-exited': { symbol: '○', label: 'exited', tone: 'gray' },
  'app-frozen': { symbol: '‖', label: 'frozen', tone: 'cyan' },
  'app-thawed': { symbol: '▶', label: 'thawed', tone: 'green' },
  'app-killed': { symbol: '✗', label: 'killed', tone: 'red' },
  'app-restart': { symbol: '↻', label: 'restarted', tone: 'green' },
  'app-restarted': { symbol: '↻', label: 'restarted', tone: 'green' },
  'app-recovered': { symbol: '+', label: 'recovered', tone: 'green' },
  'app-blocked': { symbol: '⊘', label: 'blocked', tone: 'yellow' },
  'app-unblocked': { symbol: '✓', label: 'unblocked', tone: 'green' },
  'app-removed': { symbol: '−', label: 'released', tone: 'gray' },
  'app-released': { symbol: '−', label: 'released', tone: 'gray' },
  'config-reloaded': { symbol: '↺', label: 'config reloaded', tone: 'blue' },
  'config-reload': { symbol: '↺', label: 'config reloaded', tone: 'blue' },
  'config-error': { symbol: '⚠', label: 'config error', tone: 'red' },
  'config-invalid': { symbol: '⚠', label: 'config error', tone: 'red' },
  'route-restored': { symbol: '↺', label: 'route restored', tone: 'yellow' },
  'app-moved': { symbol: '⇄', label: 'moved', tone: 'yellow' },
  'tunnel-reconnect': { symbol: '↻', label: 'reconnecting', tone: 'blue' },
  hook: { symbol: '⚙', label: 'hook', tone: 'gray' },
  'app-allow': { symbol: '⇢', label: 'allowlist', tone: 'blue' },
  'allow-resolved': { symbol: '⇢', label: 'allowed name', tone: 'yellow' },
  error: { symbol: '⚠', label: 'error', tone: 'red' },
};

/** The look of an event type; unknown types show their own name. */
export function eventLook(type: string): Look {
  return LOOKS[type] ?? { symbol: '·', label: type, tone: 'gray' };
}

/** The parts of one event-log line: time, look, and the rest as text. */
export function eventParts(e: EventRecord): { time: string; look: Look; text: string } {
  // A tunnel's own events name it (with several tunnels "kill switch on" alone would not say which).
  const about = e.app ?? (e.tunnel !== undefined && !(e.detail ?? '').includes(e.tunnel) ? e.tunnel : undefined);
  const subject = [about, e.detail].filter((x) => x !== undefined && x !== '').join(': ');
  const reaction = e.reactionMs === undefined ? '' : ` (reacted in ${formatMs(e.reactionMs)})`;
  return { time: formatClock(e.at), look: eventLook(e.type), text: `${subject}${reaction}` };
}

/** Width of the label column, so the log's text lines up. */
export const EVENT_LABEL_WIDTH = 15;
