// The files the package installs under share/: the man page and the three completions, all made from the
// command table. They are generated into dist/share when the package is packed (package.json "prepack").
import { bashCompletion } from './bash.js';
import { fishCompletion } from './fish.js';
import { manPage } from './man.js';
import { zshCompletion } from './zsh.js';

/** The man page's path under share/ (npm links it through package.json "man"). */
export const MAN_PAGE = 'man/man1/ksapp.1';

/** The completions' paths under share/, the directories each shell searches under its prefix. */
export const COMPLETIONS = {
  bash: 'bash-completion/completions/ksapp',
  zsh: 'zsh/site-functions/_ksapp',
  fish: 'fish/vendor_completions.d/ksapp.fish',
} as const;

/** Every generated file, by its path under share/ (pure). */
export function shareFiles(version: string): Map<string, string> {
  return new Map([
    [MAN_PAGE, manPage(version)],
    [COMPLETIONS.bash, bashCompletion()],
    [COMPLETIONS.zsh, zshCompletion()],
    [COMPLETIONS.fish, fishCompletion()],
  ]);
}
