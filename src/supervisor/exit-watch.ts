import { existsSync } from 'node:fs';
import type { App } from './app.js';
import type { Input, World } from './world.js';

/**
 * Watches each app's group for its end: the last process leaving, or for a
 * group protected in place (a unit, a container, which its manager may
 * empty between runs) the group itself going.
 */
export class ExitWatchers {
  private readonly stops = new Map<string, () => void>();

  /** Watches an app's group (again); `gone` is called at its end. */
  watch(app: App, gone: () => void): void {
    this.unwatch(app.name);
    this.stops.set(app.name, app.inPlace ? app.cgroup.watchRemoved(gone) : app.cgroup.watchPopulated(gone));
  }

  /** Stops watching an app's group. */
  unwatch(name: string): void {
    this.stops.get(name)?.();
    this.stops.delete(name);
  }

  /** Stops watching every group. */
  clear(): void {
    for (const name of [...this.stops.keys()]) this.unwatch(name);
  }
}

/** An app's group reported empty (or, in place, removed) is so still when its turn comes; other inputs always hold. */
export async function stillHolds(input: Input, world: World): Promise<boolean> {
  if (input.type !== 'emptied') return true;
  const app = world.apps.get(input.name);
  if (!app) return false;
  if (app.inPlace) return !existsSync(app.cgroup.path);
  return !(await app.cgroup.events().catch(() => ({ populated: false }))).populated;
}
