import { chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { desktopSearchDirs, launcherTarget, pickDesktopFile, rewriteDesktopEntry } from '../adopt/index.js';
import type { Command } from '../cli/args.js';
import { KsappError } from '../errors.js';
import { findAccount } from '../users.js';

type InstallLauncherCommand = Extract<Command, { kind: 'install-launcher' }>;

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/** The user whose menu is rewritten: the sudo caller when run through sudo, else the current user. */
function menuOwner(): { home: string; uid: number; gid: number } {
  const sudoUser = process.env.SUDO_USER ? findAccount(process.env.SUDO_USER) : undefined;
  if (sudoUser && process.getuid?.() === 0) {
    return { home: path.join('/home', sudoUser.name), uid: sudoUser.uid, gid: sudoUser.gid };
  }
  return { home: process.env.HOME ?? '/root', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}

/**
 * `ksapp install-launcher NAME [--desktop FILE]`: copies the app's desktop
 * entry into the user's own applications folder with every Exec wrapped in
 * `ksapp run --name NAME --`, so the menu starts it confined from its first
 * instruction — no window, unlike adoption by a config rule.
 */
export async function installLauncherCommand(cmd: InstallLauncherCommand): Promise<number> {
  const owner = menuOwner();
  const source = cmd.desktop ?? (await findEntry(cmd.name, owner.home));
  const { text, wrapped, warnings } = rewriteDesktopEntry(await readFile(source, 'utf8'), cmd.name, { ksapp: CLI });
  const target = launcherTarget(source, owner.home, process.env);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, text, { mode: 0o644 });
  if (process.getuid?.() === 0 && owner.uid !== 0) await chown(target, owner.uid, owner.gid);
  process.stdout.write(`${target}: ${wrapped ? `${wrapped} Exec line(s) now start through ksapp run --name ${cmd.name}` : 'already starts through ksapp'}\n`);
  for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
  return 0;
}

async function findEntry(name: string, home: string): Promise<string> {
  for (const dir of desktopSearchDirs(home, process.env)) {
    const files = await readdir(dir).catch(() => [] as string[]);
    const hit = pickDesktopFile(name, files.filter((f) => f.endsWith('.desktop')));
    if (hit) return path.join(dir, hit);
  }
  throw new KsappError(`no desktop entry found for "${name}"`, {
    code: 'LAUNCHER_NOT_FOUND', exitCode: 2, hint: 'name the file: ksapp install-launcher NAME --desktop /usr/share/applications/APP.desktop',
  });
}
