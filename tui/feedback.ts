// What the footer says about the last action: in progress, done, or refused
// with the daemon's own reason and hint.
import type { Response } from '../src/ipc/protocol.js';
import type { AppOp } from './source.js';

/** The footer's report on the last action. */
export interface Feedback {
  readonly kind: 'pending' | 'ok' | 'error';
  readonly text: string;
  /** What the user can do about a refusal (the daemon's hint). */
  readonly hint?: string;
}

const DOING: Readonly<Record<AppOp, string>> = { freeze: 'freezing', thaw: 'thawing', kill: 'killing', release: 'releasing' };
const DONE: Readonly<Record<AppOp, string>> = { freeze: 'frozen', thaw: 'thawed', kill: 'killed', release: 'released' };

/** The footer while the daemon works on `op`. */
export function pendingFeedback(op: AppOp, name: string): Feedback {
  return { kind: 'pending', text: `${DOING[op]} ${name}…` };
}

/** The footer once the daemon answered (or the request failed). */
export function resultFeedback(op: AppOp, name: string, outcome: Response | Error): Feedback {
  if (outcome instanceof Error) return { kind: 'error', text: `could not ${op} ${name}: ${outcome.message}` };
  if (outcome.ok) return { kind: 'ok', text: `${name} ${DONE[op]}` };
  const hint = outcome.error.hint === '' ? {} : { hint: outcome.error.hint };
  return { kind: 'error', text: `daemon refused to ${op} ${name}: ${outcome.error.message}`, ...hint };
}

/** The footer when an action is asked for while the daemon is unreachable. */
export function offlineFeedback(op: AppOp, name: string): Feedback {
  return { kind: 'error', text: `cannot ${op} ${name}: not connected to the daemon`, hint: 'start it with `sudo ksapp daemon`' };
}
