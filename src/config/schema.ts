import { MAX_TIMER_MS, parseDuration } from './duration.js';
import { formatIp, parseCidr, parseIp } from './ip.js';

/** Stands in for a value that failed validation, so cross-field checks still run on the rest. */
export const INVALID: unique symbol = Symbol('invalid');

/** Outcome of checking one scalar: the converted value, or why it was refused. */
export type ScalarResult = { ok: true; value: unknown } | { ok: false; message: string };

/** Reports a problem at `subPath` below the node being checked (empty for the node itself). */
export type Report = (subPath: string, message: string) => void;

/** A leaf: `parse` gets the YAML value and the scalar's source text (for numbers written where text is wanted). */
export interface ScalarSchema {
  kind: 'scalar';
  /** What is expected, for messages about lists or mappings found instead: "a string". */
  expected: string;
  parse: (value: unknown, source: string) => ScalarResult;
}

/** A mapping field: required, or a default used when absent or null. */
export interface Field {
  schema: Schema;
  required?: boolean;
  default?: unknown;
}

/** A mapping with known keys only; `check` runs on the converted value (invalid fields hold INVALID). */
export interface ObjectSchema {
  kind: 'object';
  fields: Readonly<Record<string, Field>>;
  check?: (value: Record<string, unknown>, report: Report) => void;
}

/** A list; `check` runs on the converted items (invalid ones are INVALID). */
export interface ListSchema {
  kind: 'list';
  items: Schema;
  minItems?: number;
  /** A lone item stands for a list of one (`tunnel: wg0` for `tunnel: [wg0]`; a lone mapping for a list of mappings). */
  single?: boolean;
  check?: (value: unknown[], report: Report) => void;
}

/** A node of the hand-written schema the validator walks. */
export type Schema = ScalarSchema | ObjectSchema | ListSchema;

/** Describes a YAML value in an error message: strings quoted, the rest as written. */
export function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : value === null ? 'nothing' : String(value);
}

const ok = (value: unknown): ScalarResult => ({ ok: true, value });
const fail = (message: string): ScalarResult => ({ ok: false, message });

/** A string, optionally checked further; `fromNumbers` keeps the source text of a number (argv `[sleep, 10]`). */
export function str(check?: (s: string) => string | undefined, options: { fromNumbers?: boolean } = {}): ScalarSchema {
  return {
    kind: 'scalar',
    expected: 'a string',
    parse(value, source) {
      const text = options.fromNumbers && (typeof value === 'number' || typeof value === 'boolean') ? source : value;
      if (typeof text !== 'string') return fail(`must be a string (got ${shown(value)}; quote it if it is meant as text)`);
      // execve and most kernel interfaces stop at a NUL byte, which would silently cut the value.
      if (text.includes('\0')) return fail('must not contain a NUL character');
      const problem = check?.(text);
      return problem === undefined ? ok(text) : fail(problem);
    },
  };
}

/** A string matching `pattern`, described to the user as `rule`. */
export function matching(pattern: RegExp, rule: string): ScalarSchema {
  return str((s) => (pattern.test(s) ? undefined : `must be ${rule} (got ${shown(s)})`));
}

/** true or false (YAML 1.2: yes/no/on/off are strings, and refused). */
export const bool: ScalarSchema = {
  kind: 'scalar',
  expected: 'true or false',
  parse: (value) => (typeof value === 'boolean' ? ok(value) : fail(`must be true or false (got ${shown(value)})`)),
};

/** A whole number ≥ `min`. */
export function int(min: number): ScalarSchema {
  return {
    kind: 'scalar',
    expected: 'a whole number',
    parse(value) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail(`must be a whole number (got ${shown(value)})`);
      return value >= min ? ok(value) : fail(`must be at least ${min} (got ${value})`);
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf(values: readonly string[]): ScalarSchema {
  return {
    kind: 'scalar',
    expected: `one of ${values.join(', ')}`,
    parse: (value) =>
      typeof value === 'string' && values.includes(value) ? ok(value) : fail(`must be one of ${values.join(', ')} (got ${shown(value)})`),
  };
}

/** A duration with a unit, converted to milliseconds, greater than zero and short enough for a Node timer. */
export const duration: ScalarSchema = {
  kind: 'scalar',
  expected: 'a duration such as 500ms or 180s',
  parse(value) {
    // A bare number is refused here: 180 could mean seconds or milliseconds, and guessing wrong is dangerous.
    if (typeof value !== 'string') return fail(`must be a duration with a unit, such as 500ms, 180s or 2m (got ${shown(value)})`);
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch {
      return fail(`must be a duration with a unit, such as 500ms, 180s or 2m (got ${shown(value)})`);
    }
    if (ms <= 0) return fail(`must be greater than 0 (got ${shown(value)})`);
    if (ms > MAX_TIMER_MS) return fail(`must be at most ${MAX_TIMER_MS}ms, about 24.8 days (got ${shown(value)})`);
    return ok(ms);
  },
};

/** A literal IPv4 or IPv6 address (no host names, ports or zone ids), not the unspecified address. */
export const ipLiteral: ScalarSchema = str((s) => {
  const ip = parseIp(s);
  if (ip === undefined) return `must be a literal IPv4 or IPv6 address (got ${shown(s)})`;
  return ip.value === 0n ? `must not be the unspecified address (got ${shown(s)})` : undefined;
});

/** A CIDR range with no host bits set that passes `allowed`; stored as written, a bare address gets its /32 or /128. */
export function cidr(allowed: (text: string) => boolean, rule: string): ScalarSchema {
  return {
    kind: 'scalar',
    expected: 'a CIDR range such as 192.168.0.0/16',
    parse(value, source) {
      const text = str().parse(value, source);
      if (!text.ok) return text;
      const range = parseCidr(String(text.value));
      if (range === undefined) return fail(`must be a CIDR range such as 192.168.0.0/16 or fd00::/8 (got ${shown(value)})`);
      const written = String(value).includes('/') ? String(value) : `${String(value)}/${range.prefix}`;
      if (range.network !== range.address) {
        const fixed = `${formatIp({ family: range.family, value: range.network })}/${range.prefix}`;
        return fail(`has host bits set (got ${shown(value)}; did you mean "${fixed}"?)`);
      }
      return allowed(written) ? ok(written) : fail(`${rule} (got ${shown(value)})`);
    },
  };
}

/** A list of `items`. */
export function list(items: Schema, options: Omit<ListSchema, 'kind' | 'items'> = {}): ListSchema {
  return { kind: 'list', items, ...options };
}

/** A mapping with exactly these known keys. */
export function object(fields: Record<string, Field>, check?: ObjectSchema['check']): ObjectSchema {
  return check === undefined ? { kind: 'object', fields } : { kind: 'object', fields, check };
}
