import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Adoption } from '../adopt/index.js';
import type { SavedApp } from '../supervisor/index.js';

/** An app as saved, with where its adopted processes came from (for release after a restart). */
export type SavedDaemonApp = SavedApp & { readonly adoption?: Adoption };

/** What the daemon writes to disk so a restarted daemon can take its apps back. */
export interface SavedState {
  readonly version: 1;
  readonly cgroupParent: string;
  readonly apps: readonly SavedDaemonApp[];
}

/** Reads the saved state; a missing or unreadable file means nothing was saved (the kernel still holds the truth). */
export async function readState(file: string): Promise<SavedState | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as SavedState;
    return value.version === 1 && Array.isArray(value.apps) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the state atomically (temp file, then rename), so a crash never leaves half a file. */
export async function writeState(file: string, state: SavedState): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}
