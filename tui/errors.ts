import { KsappError } from '../src/errors.js';

/** A dashboard that cannot start (no terminal to draw on or read keys from). */
export class TuiError extends KsappError {}
