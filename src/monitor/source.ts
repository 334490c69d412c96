/** A health report of one monitor source. */
export interface SourceHealth {
  healthy: boolean;
  /** Why, in words a user reads in `ksapp status`. */
  reason: string;
  /** process.hrtime.bigint() when the source saw the data this report is based on. */
  detectedAt: bigint;
}
