import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../cli/args.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/index.js';
import { replaceOwnFile } from '../ipc/safe-files.js';
import { CONFIG_TEMPLATE, daemonUnit } from '../setup/units.js';
import { runTool } from '../tools.js';
import { requireRoot } from './tunnel-check.js';

type SetupCommand = Extract<Command, { kind: 'setup' }>;

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/** One file setup manages: where, what, and whether an existing one is replaced. */
export interface PlannedFile {
  readonly path: string;
  readonly text: string;
  /** A config the user may have edited is never replaced. */
  readonly keepExisting: boolean;
}

/** The files `ksapp setup` installs below `root` (pure). */
export function plan(root: string, config: string): PlannedFile[] {
  return [
    { path: path.join(root, 'etc/systemd/system/ksapp.service'), text: daemonUnit({ node: process.execPath, cli: CLI, config }), keepExisting: false },
    { path: path.join(root, config.replace(/^\//, '')), text: CONFIG_TEMPLATE, keepExisting: true },
  ];
}

/**
 * `ksapp setup [--dry-run]`: installs the systemd unit and a commented
 * config (never over an existing one), idempotently; --dry-run prints what it
 * would write. An existing config is checked first: a daemon that cannot
 * read it at boot protects nothing.
 */
export async function setupCommand(cmd: SetupCommand): Promise<number> {
  if (!cmd.dryRun) requireRoot('setup');
  // A stand-in root for the tests; systemd reads the real one.
  const root = process.env.KSAPP_SETUP_ROOT ?? '/';
  const config = cmd.config ?? DEFAULT_CONFIG_FILE;
  const installed = path.join(root, config.replace(/^\//, ''));
  if (existsSync(installed)) await loadConfig(installed);
  for (const f of plan(root, config)) {
    const now = await readFile(f.path, 'utf8').catch(() => undefined);
    const verdict = now === f.text ? 'unchanged' : now !== undefined && f.keepExisting ? 'kept (yours)' : now === undefined ? 'written' : 'replaced';
    if (cmd.dryRun) {
      process.stdout.write(verdict === 'written' || verdict === 'replaced' ? `would write ${f.path}:\n${f.text}\n` : `${f.path}: ${verdict}, nothing to write\n`);
      continue;
    }
    if (verdict === 'written' || verdict === 'replaced') {
      await mkdir(path.dirname(f.path), { recursive: true, mode: 0o755 });
      await replaceOwnFile(f.path, f.text, 0o644);
    }
    process.stdout.write(`${f.path}: ${verdict}\n`);
  }
  if (cmd.dryRun) return 0;
  const systemd = root === '/' && existsSync('/run/systemd/system');
  if (systemd) await runTool('systemctl', ['daemon-reload']);
  process.stdout.write(systemd ? 'next: systemctl enable --now ksapp\n' : 'systemd is not running here: enable the unit where it is (systemctl enable ksapp)\n');
  return 0;
}
