// `ksapp help`, made from the command table (table.ts), as the man page and the completions are.
import { plainPart, synopsisParts } from './synopsis.js';
import { COMMANDS, GLOBAL_OPTIONS, optionText, visible, type CommandSpec, type OptionSpec } from './table.js';

const WIDTH = 100;

/** Words joined with spaces, broken before WIDTH; lines after the first start with `indent` (pure). */
export function wrapWords(first: string, words: readonly string[], indent: string, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = first;
  let onLine = 0;
  for (const word of words) {
    if (onLine > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line += (line.endsWith(' ') ? '' : ' ') + word;
    }
    onLine++;
  }
  lines.push(line);
  return lines;
}

/** `  ksapp CMD ...` and its summary, wrapped (pure). */
export function usageLines(cmd: CommandSpec): string[] {
  const head = `  ksapp ${cmd.name}`;
  // A long choice of alternatives breaks between them, never inside one.
  const words = synopsisParts(cmd).flatMap((p) => (p.kind !== 'oneOf' || p.alternatives.length === 1 ? [plainPart(p)]
    : p.alternatives.map((alt, i, all) => `${i === 0 ? '(' : '| '}${alt.map(plainPart).join(' ')}${i === all.length - 1 ? ')' : ''}`)));
  return [...wrapWords(head, words, ' '.repeat(head.length + 1)), ...wrapWords('      ', cmd.summary.split(' '), '      ')];
}

/** Every advertised option once (shared ones, like --tunnel, are one entry), in first-use order. */
export function advertisedOptions(): OptionSpec[] {
  const seen = new Set<OptionSpec>();
  for (const cmd of COMMANDS) for (const o of visible(cmd.options)) seen.add(o);
  return [...seen];
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const column = 30;
  return options.flatMap((o) => {
    const names = `  ${o.short ? `-${o.short}, ` : ''}${optionText(o)}${o.multiple ? '...' : ''}`;
    const help = `${o.help}${o.env ? ` (env ${o.env})` : ''}`;
    const first = names.length < column ? names.padEnd(column) : `${names}\n${' '.repeat(column)}`;
    return wrapWords(first, help.split(' '), ' '.repeat(column));
  });
}

/** The help text `ksapp help` prints (pure: made from the table). */
export function renderUsage(): string {
  return [
    'ksapp — per-application VPN kill switch',
    '',
    'Usage:',
    ...COMMANDS.flatMap(usageLines),
    '',
    'Options:',
    ...optionLines(advertisedOptions()),
    '',
    'Global options (any command):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or config; run exits with the app's status.",
    'More: man ksapp',
    '',
  ].join('\n');
}

/** The help text `ksapp help` prints. */
export const USAGE = renderUsage();
