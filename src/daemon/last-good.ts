// The last config the daemon could read, kept next to the config file. At boot a config broken by an
// edit (or a half-written package upgrade) would otherwise leave the daemon down and every configured
// app unprotected; with this copy it starts on the last good rules and says so.
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { parseConfig, type Config } from '../config/index.js';
import { ownDirProblem, readOwnFile, replaceOwnFile } from '../ipc/safe-files.js';

/** Where the last good copy of `configFile` is kept (pure). */
export function lastGoodPath(configFile: string): string {
  return path.join(path.dirname(configFile), `.${path.basename(configFile)}.last-good`);
}

/** Keeps the text of a config that was just read and validated (skipped where others could write). */
export async function saveLastGood(configFile: string, text: string): Promise<void> {
  // Only where no one else can change the directory: root writes there.
  if ((await ownDirProblem(path.dirname(configFile))) === undefined) await replaceOwnFile(lastGoodPath(configFile), text, 0o600);
}

/** The last good config, when one was kept and still parses; undefined otherwise. */
export async function readLastGood(configFile: string): Promise<{ config: Config; savedAt: Date } | undefined> {
  const file = lastGoodPath(configFile);
  try {
    const text = await readOwnFile(file);
    if (text === undefined) return undefined;
    const savedAt = (await lstat(file)).mtime;
    return { config: parseConfig(text, file), savedAt };
  } catch {
    return undefined;
  }
}
