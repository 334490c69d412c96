/** Base class of every error ksapp raises on purpose. */
export class KsappError extends Error {
  /** Stable machine-readable code, e.g. `CGROUP_NO_MOUNT`. */
  readonly code: string;
  /** What the user can do about it; empty for internal bugs. */
  readonly hint: string;
  /** True when the user can fix it (bad input, missing tool); false for bugs and runtime faults. */
  readonly userFixable: boolean;
  /** Process exit status the CLI uses: 2 for usage/config errors, 1 for runtime failures. */
  readonly exitCode: 1 | 2;

  constructor(
    message: string,
    options: { code: string; hint?: string; cause?: unknown; userFixable?: boolean; exitCode?: 1 | 2 },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.hint = options.hint ?? '';
    this.userFixable = options.userFixable ?? true;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Renders an error and its cause chain the way the CLI prints it, without stack traces for user errors. */
export function formatError(error: unknown): string {
  const lines: string[] = [];
  const head = error instanceof Error ? error.message : String(error);
  lines.push(`Error: ${head}`);
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 8; depth++) {
    lines.push(`Caused by: ${cause instanceof Error ? cause.message : String(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  if (error instanceof KsappError && error.hint) lines.push(`Hint: ${error.hint}`);
  if (!(error instanceof KsappError) && error instanceof Error && error.stack) {
    lines.push('This is a bug in ksapp; please report it with the trace below.', error.stack);
  }
  return lines.join('\n');
}
