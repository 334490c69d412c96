import { SupervisorError, type Supervisor } from '../supervisor/index.js';

/**
 * Only root may have the daemon watch a tunnel it does not watch yet: each
 * takes one of its few slots, and a user could otherwise use them all up.
 */
export function requireWatchedFor(sup: Supervisor, tunnels: readonly string[] | undefined, uid: number): void {
  const unknown = (tunnels ?? []).filter((t) => !sup.tunnels.has(t));
  if (uid === 0 || unknown.length === 0) return;
  throw new SupervisorError(`this daemon does not watch ${unknown.join(', ')}; only root may add a tunnel`, {
    code: 'NOT_AUTHORIZED', hint: `use one of ${[...sup.tunnels.keys()].join(', ')}, or ask root to add it under \`tunnels:\` in the config`,
  });
}
