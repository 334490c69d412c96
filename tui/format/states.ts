// How each state looks. Every state carries a symbol and a word as well as a
// colour, so the screen reads the same with NO_COLOR or a monochrome terminal.
import type { AppStatusState, TunnelStatus } from '../../src/ipc/protocol.js';

/** Ink colour names used by the dashboard. */
export type Tone = 'green' | 'red' | 'yellow' | 'cyan' | 'magenta' | 'blue' | 'gray';

/** A symbol, a label and a colour: how one state is drawn. */
export interface Look {
  readonly symbol: string;
  readonly label: string;
  readonly tone: Tone;
}

/** Every app state the daemon reports, with its look. */
export const APP_STATE_LOOKS: Readonly<Record<AppStatusState, Look>> = {
  running: { symbol: '●', label: 'running', tone: 'green' },
  frozen: { symbol: '‖', label: 'frozen', tone: 'cyan' },
  blocked: { symbol: '⊘', label: 'blocked', tone: 'yellow' },
  killed: { symbol: '✗', label: 'killed', tone: 'red' },
  exited: { symbol: '○', label: 'exited', tone: 'gray' },
  'needs-restart': { symbol: '↻', label: 'needs-restart', tone: 'magenta' },
};

/** The look of an app state; an unknown state (newer daemon) is shown verbatim. */
export function appStateLook(state: string): Look {
  return (APP_STATE_LOOKS as Record<string, Look | undefined>)[state] ?? { symbol: '?', label: state, tone: 'gray' };
}

/** The tunnel badge: UP green, DOWN red; gray when unknown or stale (daemon unreachable). */
export function tunnelLook(state: TunnelStatus['state'] | null, stale = false): Look {
  if (state === null) return { symbol: '?', label: 'UNKNOWN', tone: 'gray' };
  const look: Look = state === 'up'
    ? { symbol: '▲', label: 'UP', tone: 'green' }
    : { symbol: '▼', label: 'DOWN', tone: 'red' };
  return stale ? { ...look, tone: 'gray' } : look;
}
