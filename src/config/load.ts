import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { configSchema } from './config-schema.js';
import { ConfigError } from './errors.js';
import { primaryFirst } from './tunnels.js';
import type { AppConfig, Config, TunnelConfig } from './types.js';
import { validateDocument } from './validate.js';

// A config is a few kilobytes; anything much larger is a wrong path, not a config.
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Parses and validates config text; returns the typed config with defaults filled, or throws ConfigError listing every problem. */
export function parseConfig(text: string, fileName = 'config.yaml'): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const { value, issues } = validateDocument(doc, lines, configSchema);
  if (issues.length > 0) throw new ConfigError(fileName, issues);
  // With no issues the walker produced exactly the shape configSchema describes, defaults included.
  const written = value as Omit<Config, 'tunnel' | 'tunnels'> & { tunnel?: TunnelConfig; tunnels?: TunnelConfig[] };
  const config: Config = { ...written, ...primaryFirst(written.tunnel, written.tunnels) };
  config.apps = config.apps.map((app: AppConfig, i) => {
    // Where the rule is written, so a rule the daemon cannot carry out is named as `file:line`.
    const node = doc.getIn(['apps', i, 'match'], true) as { range?: [number, number, number] } | undefined;
    const at = node?.range ? `${fileName}:${lines.linePos(node.range[0]).line}` : undefined;
    return { ...app, allowLan: app.allowLan ?? config.lan.allow, ...(at ? { at } : {}) };
  });
  return config;
}

function readError(file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new ConfigError(file, [], {
      code: 'CONFIG_NOT_FOUND',
      message: `config file ${file} does not exist`,
      hint: 'create it (the format is in the README, section "Config file") or choose another with --config FILE or KSAPP_CONFIG',
    });
  }
  return new ConfigError(file, [], {
    code: 'CONFIG_UNREADABLE',
    message: `cannot read config file ${file}`,
    hint: code === 'EACCES' ? 'run as root or make the file readable' : 'check that the path names a readable regular file',
    cause: error,
  });
}

async function readText(file: string): Promise<string> {
  // O_NONBLOCK so that a FIFO given by mistake fails the regular-file check instead of hanging the open.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ConfigError(file, [], { code: 'CONFIG_NOT_A_FILE', message: `config path ${file} is not a regular file`, hint: 'point --config or KSAPP_CONFIG at a YAML file' });
    if (stat.size > MAX_CONFIG_BYTES) throw new ConfigError(file, [], { code: 'CONFIG_TOO_LARGE', message: `config file ${file} is ${stat.size} bytes, more than ${MAX_CONFIG_BYTES}`, hint: 'check that the path names the ksapp config' });
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Reads and validates a config file; a missing, unreadable or invalid file is a ConfigError (exit code 2). */
export async function loadConfig(file: string): Promise<Config> {
  return (await loadConfigText(file)).config;
}

/** loadConfig, with the very text that was validated (so a copy of it can be kept). */
export async function loadConfigText(file: string): Promise<{ config: Config; text: string }> {
  let text: string;
  try {
    text = await readText(file);
  } catch (error) {
    throw error instanceof ConfigError ? error : readError(file, error);
  }
  return { config: parseConfig(text, file), text };
}
