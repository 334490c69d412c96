import { KsappError } from '../errors.js';

/** A request the supervisor refuses or cannot carry out. */
export class SupervisorError extends KsappError {}
