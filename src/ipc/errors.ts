import { KsappError } from '../errors.js';

/** Failures talking to, or starting, the daemon. */
export class IpcError extends KsappError {}
