import { readOwnFile, replaceOwnFile } from '../ipc/safe-files.js';
import type { SavedApp } from '../supervisor/index.js';
import { trustedState, type StateBounds } from './state-check.js';

/** An app as saved (its adoption and where release puts it are part of it). */
export type SavedDaemonApp = SavedApp;

/** What the daemon writes to disk so a restarted daemon can take its apps back. */
export interface SavedState {
  readonly version: 1;
  readonly cgroupParent: string;
  readonly apps: readonly SavedDaemonApp[];
}

/**
 * Reads the saved state, checked as untrusted input. A missing file means
 * nothing was saved (the kernel still holds the truth); a file that is a link,
 * not root's, unparsable, or with entries that do not hold up yields only what
 * does, and `dropped` names the rest.
 */
export async function readState(file: string, bounds: StateBounds): Promise<{ state: SavedState | undefined; dropped: string[] }> {
  let text: string | undefined;
  try {
    text = await readOwnFile(file);
  } catch (error) {
    return { state: undefined, dropped: [(error as Error).message] };
  }
  if (text === undefined) return { state: undefined, dropped: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { state: undefined, dropped: [`${file} is not valid JSON`] };
  }
  return trustedState(value, bounds);
}

/** Writes the state atomically (a new temp file, then rename), so a crash never leaves half a file. */
export async function writeState(file: string, state: SavedState): Promise<void> {
  await replaceOwnFile(file, `${JSON.stringify(state, null, 2)}\n`, 0o600);
}
