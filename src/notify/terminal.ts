// "Open dashboard": `ksapp tui` in a terminal window. Which terminal and how it takes a command is
// pure; starting it is this file's one spawn, detached, so the window outlives nothing of ours.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Terminal emulators in the order tried, each with the words that come before the command it should run. */
const TERMINALS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['x-terminal-emulator', ['-e']], ['gnome-terminal', ['--']], ['konsole', ['-e']], ['xfce4-terminal', ['-x']],
  ['kitty', []], ['alacritty', ['-e']], ['foot', []], ['wezterm', ['start', '--']], ['xterm', ['-e']],
];

/**
 * The argv that opens `command` in a terminal (pure): $TERMINAL when it is
 * one we know how to drive, else the first known one `find` locates;
 * undefined when there is none.
 */
export function terminalArgv(command: readonly string[], find: (name: string) => string | undefined, preferred?: string): string[] | undefined {
  const known = preferred === undefined ? undefined : TERMINALS.find(([name]) => name === path.basename(preferred));
  for (const [name, before] of known ? [known, ...TERMINALS] : TERMINALS) {
    const file = find(name);
    if (file) return [file, ...before, ...command];
  }
  return undefined;
}

/** The executable `name` on `searchPath`, or undefined. */
export function findOnPath(name: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(':').filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Opens the dashboard in a terminal; resolves to why it could not, or undefined once the terminal started. */
export function openDashboard(tui: readonly string[]): Promise<string | undefined> {
  const argv = terminalArgv(tui, (n) => findOnPath(n), process.env.TERMINAL);
  if (!argv) return Promise.resolve(`no terminal emulator found: open a terminal and run \`${['ksapp', ...tui.slice(2)].join(' ')}\``);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
    child.once('error', (e) => resolve(`${argv[0]} did not start (${e.message}): open a terminal and run \`ksapp tui\``));
    child.once('spawn', () => {
      child.unref();
      resolve(undefined);
    });
  });
}
