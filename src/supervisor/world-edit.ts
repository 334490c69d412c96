import type { App } from './app.js';
import type { Action, Step, World } from './world.js';

/** An app killed for a restart, running again. */
export const restarted = (app: App): App => ({ ...app, state: 'running', restartPending: false, emptied: false });

/** No change, nothing to do. */
export const unchanged = (world: World): Step => ({ world, actions: [] });

/** An action that logs an event. */
export function log(type: Extract<Action, { type: 'log' }>['event']['type'], detail?: string, app?: string, tunnel?: string): Action {
  return { type: 'log', event: { type, ...(detail === undefined ? {} : { detail }), ...(app === undefined ? {} : { app }), ...(tunnel === undefined ? {} : { tunnel }) } };
}

/** The world with these apps replaced or added. */
export function withApps(world: World, apps: readonly App[]): World {
  if (apps.length === 0) return world;
  const next = new Map(world.apps);
  for (const app of apps) next.set(app.name, app);
  return { ...world, apps: next };
}

/** The world without this app. */
export function without(world: World, name: string): World {
  const next = new Map(world.apps);
  next.delete(name);
  return { ...world, apps: next };
}
