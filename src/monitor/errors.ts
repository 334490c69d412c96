import { KsappError } from '../errors.js';

/** A tunnel-monitor error: bad monitor options (exit 2) or a tunnel that cannot be watched (exit 1). */
export class MonitorError extends KsappError {
  constructor(
    message: string,
    options: { code: string; hint?: string; cause?: unknown; userFixable?: boolean; exitCode?: 1 | 2 },
  ) {
    super(message, options);
  }
}
