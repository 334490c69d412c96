/**
 * How many apps a user other than root may have under protection. Each app
 * costs rules, a cgroup and work at every tunnel change and at shutdown (411
 * apps of one user once made a shutdown take four minutes), so one user must
 * not be able to grow that without bound.
 */
import { KsappError } from '../errors.js';
import { daemonLimits } from '../ipc/limits.js';

/** A request refused because the user already holds as many apps as allowed. */
export class QuotaError extends KsappError {}

/** Refuses one more app of `uid` when it already holds `held` of at most `limit` (pure). Root is never refused. */
export function checkAppQuota(uid: number, held: number, limit: number): void {
  if (uid === 0 || held < limit) return;
  throw new QuotaError(`uid ${uid} already has ${held} apps under protection (the limit per user is ${limit})`, {
    code: 'TOO_MANY_APPS', exitCode: 1,
    hint: 'release or end some of your apps first (`ksapp status` lists them, `ksapp release NAME`), or ask root (sudo ksapp …)',
  });
}

/** Counts the apps `uid` owns (pure). */
export function appsOwnedBy(uid: number, apps: Iterable<{ readonly uid: number }>): number {
  let n = 0;
  for (const a of apps) if (a.uid === uid) n++;
  return n;
}

// Additions in flight per supervisor and uid: the check counts them, so concurrent requests cannot overshoot.
const adding = new WeakMap<object, Map<number, number>>();
let configured: number | undefined;

/** Runs `add` (a `register` or `protect` of peer `uid`) unless it would take the user past the app limit. */
export async function withinAppQuota<T>(
  sup: { readonly apps: ReadonlyMap<string, { readonly uid: number }> }, uid: number, add: () => Promise<T>,
  limit: number = (configured ??= daemonLimits().maxAppsPerUser),
): Promise<T> {
  if (uid === 0) return add();
  const pending = adding.get(sup) ?? new Map<number, number>();
  adding.set(sup, pending);
  checkAppQuota(uid, appsOwnedBy(uid, sup.apps.values()) + (pending.get(uid) ?? 0), limit);
  pending.set(uid, (pending.get(uid) ?? 0) + 1);
  try {
    return await add();
  } finally {
    const left = (pending.get(uid) ?? 1) - 1;
    if (left > 0) pending.set(uid, left);
    else pending.delete(uid);
  }
}
