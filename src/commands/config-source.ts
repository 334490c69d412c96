import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_FILE, loadConfig, type Config } from '../config/index.js';

/** Loads the config named on the command line, or the default file when it exists; undefined otherwise. */
export async function loadOptionalConfig(file: string | undefined): Promise<Config | undefined> {
  if (file !== undefined) return loadConfig(file);
  return existsSync(DEFAULT_CONFIG_FILE) ? loadConfig(DEFAULT_CONFIG_FILE) : undefined;
}
