import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../cli/args.js';
import { DEFAULT_CONFIG_FILE, loadConfig, type AppConfig } from '../config/index.js';
import { replaceOwnFile } from '../ipc/safe-files.js';
import { AUTOSTART_FILE, notifyAutostart } from '../setup/autostart.js';
import { CONFIG_TEMPLATE, daemonUnit, unitDropIn } from '../setup/units.js';
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

/** The drop-in that starts a unit confined, where `ksapp setup` and `protect --persist` put it (pure). */
export function dropInFile(root: string, config: string, unit: string, app: string, onDrop: 'freeze' | 'kill' | 'block'): PlannedFile {
  return {
    path: path.join(root, 'etc/systemd/system', `${unit}.d`, 'ksapp.conf'),
    text: unitDropIn({ node: process.execPath, cli: CLI, config, unit, app, onDrop }), keepExisting: false,
  };
}

/** The files `ksapp setup` installs below `root`: the unit, the notification agent's autostart entry, the config, a drop-in per unit rule (pure). */
export function plan(root: string, config: string, apps: readonly AppConfig[] = []): PlannedFile[] {
  return [
    { path: path.join(root, 'etc/systemd/system/ksapp.service'), text: daemonUnit({ node: process.execPath, cli: CLI, config }), keepExisting: false },
    { path: path.join(root, 'etc/xdg/autostart', AUTOSTART_FILE), text: notifyAutostart({ node: process.execPath, cli: CLI }), keepExisting: false },
    { path: path.join(root, config.replace(/^\//, '')), text: CONFIG_TEMPLATE, keepExisting: true },
    ...apps.filter((a) => a.match?.unit !== undefined).map((a) => dropInFile(root, config, a.match!.unit!, a.name, a.onDrop)),
  ];
}

/** Writes planned files that differ (never a config that exists); returns what happened to each. */
export async function install(files: readonly PlannedFile[], dryRun: boolean, say: (line: string) => void): Promise<void> {
  for (const f of files) {
    const now = await readFile(f.path, 'utf8').catch(() => undefined);
    const verdict = now === f.text ? 'unchanged' : now !== undefined && f.keepExisting ? 'kept (yours)' : now === undefined ? 'written' : 'replaced';
    if (dryRun) {
      say(verdict === 'written' || verdict === 'replaced' ? `would write ${f.path}:\n${f.text}` : `${f.path}: ${verdict}, nothing to write`);
      continue;
    }
    if (verdict === 'written' || verdict === 'replaced') {
      await mkdir(path.dirname(f.path), { recursive: true, mode: 0o755 });
      await replaceOwnFile(f.path, f.text, 0o644);
    }
    say(`${f.path}: ${verdict}`);
  }
}

/** Tells systemd about new unit files where it runs; says what to do elsewhere. */
export async function reloadSystemd(root: string, next: string, say: (line: string) => void): Promise<void> {
  const systemd = root === '/' && existsSync('/run/systemd/system');
  if (systemd) await runTool('systemctl', ['daemon-reload']);
  say(systemd ? `next: ${next}` : `systemd is not running here: where it runs, ${next}`);
}

/**
 * `ksapp setup [--dry-run]`: installs the systemd unit, the notification
 * agent's XDG autostart entry and a commented config (never over an
 * existing one), idempotently; --dry-run prints what it would write. An
 * existing config is checked first: a daemon that cannot read it at boot
 * protects nothing.
 */
export async function setupCommand(cmd: SetupCommand): Promise<number> {
  if (!cmd.dryRun) requireRoot('setup');
  // A stand-in root for the tests; systemd reads the real one.
  const root = process.env.KSAPP_SETUP_ROOT ?? '/';
  const config = cmd.config ?? DEFAULT_CONFIG_FILE;
  const installed = path.join(root, config.replace(/^\//, ''));
  const apps = existsSync(installed) ? (await loadConfig(installed)).apps : [];
  const say = (line: string): void => { process.stdout.write(`${line}\n`); };
  await install(plan(root, config, apps), cmd.dryRun, say);
  if (cmd.dryRun) return 0;
  const units = apps.flatMap((a) => (a.match?.unit ? [a.match.unit] : []));
  await reloadSystemd(root, `systemctl enable --now ksapp${units.length ? `; restart ${units.join(', ')} to start confined` : ''}`, say);
  say('desktop notifications start at the next login (or now, as yourself: ksapp notify &)');
  return 0;
}
