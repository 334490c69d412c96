import { KsappError } from '../errors.js';

/** Anything the firewall layer refuses or fails to do. */
export class FirewallError extends KsappError {}
