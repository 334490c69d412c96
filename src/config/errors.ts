import { KsappError } from '../errors.js';

/** One problem in a config file, at the 1-based line and column of the offending YAML node. */
export interface ConfigIssue {
  line: number;
  column: number;
  /** Where in the config, e.g. `apps[0].onDrop`; empty for the file as a whole. */
  path: string;
  message: string;
}

/** Renders an issue as `file:line:column: path message`, the shape compilers use so editors can jump to it. */
export function formatIssue(fileName: string, issue: ConfigIssue): string {
  const what = issue.path === '' ? issue.message : `${issue.path} ${issue.message}`;
  return `${fileName}:${issue.line}:${issue.column}: ${what}`;
}

/** A config file that is missing, unreadable or invalid; `issues` lists every problem found, not just the first. */
export class ConfigError extends KsappError {
  /** Every problem found, in file order. Empty when the file could not be read at all. */
  readonly issues: readonly ConfigIssue[];
  /** The file name the issues refer to. */
  readonly fileName: string;

  constructor(
    fileName: string,
    issues: readonly ConfigIssue[],
    options: { message?: string; code?: string; hint?: string; cause?: unknown } = {},
  ) {
    const count = `${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    const message = options.message ?? [`invalid config ${fileName} (${count}):`, ...issues.map((i) => `  ${formatIssue(fileName, i)}`)].join('\n');
    super(message, {
      code: options.code ?? 'CONFIG_INVALID',
      hint: options.hint ?? 'fix the lines above; the format is described in the README (section "Config file")',
      cause: options.cause,
      exitCode: 2,
    });
    this.issues = issues;
    this.fileName = fileName;
  }
}
