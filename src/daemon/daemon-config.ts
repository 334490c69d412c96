import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfig, parseConfig, type Config } from '../config/index.js';
import { resolvConfText } from '../launch/index.js';

/** The file the daemon reads and watches: the one named, else the default when it exists; undefined means built-in defaults. */
export function configFileOf(named: string | undefined): string | undefined {
  return named ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
}

/** Loads the daemon's config (built-in defaults without a file). */
export function loadDaemonConfig(file: string | undefined): Promise<Config> {
  return file ? loadConfig(file) : Promise.resolve(parseConfig('', 'built-in defaults'));
}

/** Writes the resolv.conf protected apps get (tunnel resolvers); null when none are configured. */
export async function writeResolvConf(runDir: string, servers: readonly string[]): Promise<string | null> {
  if (servers.length === 0) return null;
  const file = path.join(runDir, 'resolv.conf');
  await writeFile(file, resolvConfText(servers), { mode: 0o644 });
  return file;
}
