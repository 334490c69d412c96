import type { App } from './app.js';
import { findApp as findIn } from './machine.js';
import type { Supervisor } from './supervisor.js';

/** Looks an app up by name or fails with a message listing what exists. */
export function findApp(sup: Supervisor, name: string): App {
  return findIn(sup, name);
}

/** Freezes an app on request; it stays frozen until thawed by hand. */
export function freezeApp(sup: Supervisor, name: string): Promise<void> {
  return sup.dispatch({ type: 'freeze', name });
}

/** Thaws an app on request; refused while the tunnel is down (the firewall would hold anyway). */
export function thawApp(sup: Supervisor, name: string): Promise<void> {
  return sup.dispatch({ type: 'thaw', name });
}

/** Kills every process of an app; its group and rules go once it is empty. */
export async function killApp(sup: Supervisor, name: string): Promise<void> {
  await sup.dispatch({ type: 'kill', name });
  // Outside the loop: the group empties by itself, and its end is an input like any other.
  const app = sup.apps.get(name);
  if (app) await app.cgroup.waitEmpty();
}
