// `ksapp install-launcher NAME`: rewrite an app's desktop entry so the menu starts it through
// `ksapp run`, which confines it before its first instruction (no polling window). Pure functions;
// the command reads the system's entry and writes the copy into the user's applications folder,
// where it takes precedence over the system's entry of the same file name (desktop-entry spec).
import path from 'node:path/posix';
import { appNameProblem, APP_NAME_RULE } from '../app-name.js';
import { badInput } from './errors.js';

/** Characters that force an Exec argument into double quotes (desktop-entry spec, "The Exec key"). */
const RESERVED = /[\s"'\\><~|&;$*?#()`]/;

/** Undoes the string-value escapes (`\s \n \t \r \\`), which apply before Exec's quoting rules. */
function unescapeValue(value: string): string {
  return value.replace(/\\([sntr\\])/g, (_m, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}

/** Splits an Exec value into arguments (quotes and backslash escapes resolved; field codes such as %U kept as written). */
export function parseExec(value: string): string[] {
  const text = unescapeValue(value);
  const args: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      cur ??= '';
      for (i++; i < text.length && text[i] !== '"'; i++) cur += text[i] === '\\' && i + 1 < text.length ? text[++i] : text[i];
    } else if (c === ' ' || c === '\t') {
      if (cur !== undefined) args.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== undefined) args.push(cur);
  return args;
}

/** Writes one argument as an Exec value expects it: `%` doubled, quoted if needed, then string-escaped. */
export function quoteExecArg(arg: string): string {
  let s = arg.replace(/%/g, '%%');
  if (s === '' || RESERVED.test(s)) s = `"${s.replace(/(["`$\\])/g, '\\$1')}"`;
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
}

/** True when an Exec value already starts the app through `ksapp run`. */
export function isWrapped(value: string): boolean {
  const [first, second] = parseExec(value);
  // ksapp itself, or its CLI script when ksapp is not on the menu's PATH (dist/src/cli.js).
  const isKsapp = first !== undefined && (path.basename(first) === 'ksapp' || /(^|\/)dist\/src\/cli\.js$/.test(first));
  return isKsapp && second === 'run';
}

/** The result of rewriting a desktop entry. */
export interface RewriteResult {
  text: string;
  /** Exec lines wrapped now (0 when every one already was: the rewrite is idempotent). */
  wrapped: number;
  /** Things that may still start the app outside ksapp. */
  warnings: string[];
}

/** Options of rewriteDesktopEntry. */
export interface RewriteOptions {
  /** How the entry calls ksapp (default `ksapp`; give an absolute path when the menu's PATH lacks it). */
  ksapp?: string;
}

/** Rewrites every `Exec=` line (in every group, actions included) to `Exec=ksapp run --name NAME -- <original>`; TryExec and all else stay as they were. */
export function rewriteDesktopEntry(text: string, name: string, options: RewriteOptions = {}): RewriteResult {
  const problem = appNameProblem(name);
  if (problem) throw badInput('ADOPT_BAD_NAME', `invalid app name: it ${problem}`, `use ${APP_NAME_RULE}`);
  const prefix = `${quoteExecArg(options.ksapp ?? 'ksapp')} run --name ${name} -- `;
  let wrapped = 0;
  let execs = 0;
  let dbus = false;
  let group = '';
  const lines = text.split('\n').map((line) => {
    const cr = line.endsWith('\r') ? '\r' : '';
    const body = cr ? line.slice(0, -1) : line;
    if (/^\[.*\]\s*$/.test(body)) group = body.trim();
    if (group === '[Desktop Entry]' && /^DBusActivatable\s*=\s*true\s*$/.test(body)) dbus = true;
    const m = /^(Exec\s*=\s*)(.*)$/.exec(body);
    if (!m) return line;
    execs++;
    const value = m[2]!;
    if (value.trim() === '' || isWrapped(value)) return line;
    wrapped++;
    return `${m[1]}${prefix}${value}${cr}`;
  });
  if (execs === 0) throw badInput('ADOPT_NO_EXEC', 'the desktop entry has no Exec= line to wrap', 'pick the .desktop file that starts the app');
  const warnings = dbus ? ['DBusActivatable=true: the desktop may start the app over D-Bus without running Exec; protect it with a config rule as well'] : [];
  return { text: lines.join('\n'), wrapped, warnings };
}

/** Where the rewritten entry goes: `$XDG_DATA_HOME/applications` (default `~/.local/share/applications`), same file name. */
export function launcherTarget(source: string, home: string, env: Record<string, string | undefined> = {}): string {
  const dataHome = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, '.local/share');
  return path.join(dataHome, 'applications', path.basename(source));
}

/** The applications folders to search for an app's entry, the user's first (`$XDG_DATA_DIRS`, default /usr/local/share:/usr/share). */
export function desktopSearchDirs(home: string, env: Record<string, string | undefined> = {}): string[] {
  const dirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter((d) => path.isAbsolute(d));
  return [path.dirname(launcherTarget('x', home, env)), ...dirs.map((d) => path.join(d, 'applications'))];
}

/** Picks NAME's entry among file names: `NAME.desktop`, else the same ignoring case, else a reverse-DNS `*.NAME.desktop`; undefined if none or several. */
export function pickDesktopFile(name: string, files: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  for (const test of [(f: string) => f === `${name}.desktop`, (f: string) => f.toLowerCase() === `${lower}.desktop`,
    (f: string) => f.toLowerCase().endsWith(`.${lower}.desktop`)]) {
    const hits = files.filter(test);
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) return undefined;
  }
  return undefined;
}
