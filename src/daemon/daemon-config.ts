import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CONFIG_FILE, loadConfigText, parseConfig, type Config } from '../config/index.js';
import { lastGoodPath, readLastGood, saveLastGood } from './last-good.js';
import { writeOwnFile } from '../ipc/safe-files.js';
import { resolvConfText } from '../launch/index.js';

/** The file the daemon reads and watches: the one named, else the default when it exists; undefined means built-in defaults. */
export function configFileOf(named: string | undefined): string | undefined {
  return named ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
}

/**
 * Loads the daemon's config (built-in defaults without a file) and keeps a
 * copy of it. A file that cannot be read or is invalid falls back to the last
 * good copy, when one was kept, and `fallback` says so; with none, the error
 * stands (the daemon refuses to start, exit 2).
 */
export async function loadDaemonConfig(file: string | undefined): Promise<{ config: Config; fallback?: string }> {
  if (!file) return { config: parseConfig('', 'built-in defaults') };
  try {
    const { config, text } = await loadConfigText(file);
    await saveLastGood(file, text).catch(() => undefined);
    return { config };
  } catch (error) {
    const last = await readLastGood(file);
    if (!last) throw error;
    return { config: last.config, fallback: `${(error as Error).message} — running on the last good config, kept at ${last.savedAt.toISOString()} (${lastGoodPath(file)}); fix the file and it is reloaded` };
  }
}

/** Writes the resolv.conf protected apps get (tunnel resolvers); null when none are configured. */
export async function writeResolvConf(runDir: string, servers: readonly string[]): Promise<string | null> {
  const file = path.join(runDir, 'resolv.conf');
  if (servers.length === 0) {
    // A list a reload took away must not reach apps started from now on.
    await rm(file, { force: true });
    return null;
  }
  await writeOwnFile(file, resolvConfText(servers), 0o644);
  return file;
}

/**
 * The settings of a reloaded config that a running daemon cannot apply (its tunnel monitor and its cgroup
 * parent are fixed at start), named as in the file, so the reload can say they wait for the next start.
 */
export function settingsNeedingRestart(before: Config, after: Config, iface: { inUse: string; fromFlag: boolean }): string[] {
  const changed: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  // An interface named by --tunnel wins over the file; one left out of the file was auto-detected at start.
  if (!iface.fromFlag && (after.tunnel.interface ?? iface.inUse) !== iface.inUse) changed.push('tunnel.interface');
  for (const key of ['handshakeTimeout', 'probe', 'holdDown', 'maxHoldDown'] as const) {
    if (!same(before.tunnel[key], after.tunnel[key])) changed.push(`tunnel.${key}`);
  }
  for (const key of ['dns', 'via', 'reconnect'] as const) {
    if (!same(before.tunnel[key], after.tunnel[key])) changed.push(`tunnel.${key}`);
  }
  if (!same(before.tunnels.slice(1), after.tunnels.slice(1))) changed.push('tunnels');
  if (before.cgroupParent !== after.cgroupParent) changed.push('cgroupParent');
  return changed;
}
