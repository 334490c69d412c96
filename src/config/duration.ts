import { KsappError } from '../errors.js';

/** Raised when a duration is not a non-negative number or a string like `500ms`, `180s`, `2m`, `1h`, `1m30s`. */
export class DurationError extends KsappError {
  constructor(message: string) {
    super(message, {
      code: 'DURATION_INVALID',
      hint: 'write a duration as a number with a unit: ms, s, m or h (e.g. 500ms, 180s, 2m, 1m30s)',
      exitCode: 2,
    });
  }
}

/** Longest delay a Node timer honours; larger values overflow and fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/**
 * Converts a duration to milliseconds: a number is taken as milliseconds already, a string
 * needs a unit on every part (`500ms`, `180s`, `2m`, `1h`, `1m30s`). Zero is returned as is;
 * whether it is allowed is the caller's decision.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new DurationError(`invalid duration ${input}: must be a finite number of milliseconds ≥ 0`);
    return input;
  }
  const text = input.trim();
  if (!WHOLE.test(text)) {
    // A bare number in a string is the likeliest mistake; say what is missing.
    const why = /^\d+(?:\.\d+)?$/.test(text) ? 'it needs a unit (ms, s, m or h)' : 'expected a number with a unit such as 500ms, 180s, 2m or 1h';
    throw new DurationError(`invalid duration ${JSON.stringify(input)}: ${why}`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? 'ms'] ?? 1);
  // Sub-millisecond parts ("0.5ms") would give fractional timers that Node rounds silently.
  const rounded = Math.round(total * 1000) / 1000;
  if (!Number.isInteger(rounded)) throw new DurationError(`invalid duration ${JSON.stringify(input)}: must be a whole number of milliseconds`);
  if (!Number.isSafeInteger(rounded)) throw new DurationError(`invalid duration ${JSON.stringify(input)}: too large`);
  return rounded;
}
