import { readFileSync } from 'node:fs';
import { KsappError } from '../errors.js';

/** A failure while building, repairing or breaking the lab (a runtime fault, exit status 1). */
export class LabError extends KsappError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { code: 'LAB_FAILED', hint, cause, exitCode: 1 });
  }
}

/** The last lines of a lab log file, to quote in an error (the log is removed with the lab). */
export function logTail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
