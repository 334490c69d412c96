import type { App } from './app.js';
import type { TunnelTransition } from './types.js';
import type { Action, Order, Step, World } from './world.js';
import { log, restarted, unchanged, withApps } from './world-edit.js';

/** A tunnel transition: every app's policy, then the reaction logged. */
export function onTransition(world: World, t: TunnelTransition): Step {
  if (t.state === world.tunnel.state) return unchanged(world);
  const next: World = { ...world, tunnel: { state: t.state, since: t.at, reason: t.reason } };
  const apps = [...world.apps.values()];
  const done = t.state === 'down' ? onDown(next, apps) : onUp(next, apps);
  const reacted: Action = { type: 'reacted', state: t.state, reason: t.reason, ...(t.detectedAt === undefined ? {} : { detectedAt: t.detectedAt }) };
  return { world: done.world, actions: [...done.actions, reacted] };
}

/** Each app's drop policy: freeze, kill (and wait for the group to empty), or block in one transaction. */
export function onDown(world: World, apps: readonly App[], fresh = false): Step {
  const why = `tunnel ${world.tunnelIface} down: ${world.tunnel.reason}`;
  const changed: App[] = [];
  const freeze: Order[] = [];
  const kill: Order[] = [];
  const blocked: string[] = [];
  for (const app of apps) {
    if (app.onDrop === 'freeze' && app.state === 'running') {
      // Frozen from the moment cgroup.freeze is written, also when a process stuck in uninterruptible I/O keeps
      // the kernel from finishing (the freeze times out): the tunnel coming back must thaw it all the same.
      changed.push({ ...app, state: 'frozen' });
      freeze.push({ name: app.name, log: { type: 'app-frozen', detail: why } });
    } else if (app.onDrop === 'kill' && app.state === 'running' && fresh) {
      // A group made a moment ago holds nothing to kill; it may run once the tunnel is back.
      changed.push({ ...app, state: 'killed', emptied: true });
    } else if (app.onDrop === 'kill' && app.state === 'running') {
      changed.push({ ...app, state: 'killed', restartPending: app.restart, emptied: false });
      kill.push({ name: app.name, log: { type: 'app-killed', detail: why } });
    } else if (app.onDrop === 'block' && !app.blocked) {
      changed.push({ ...app, state: 'blocked', blocked: true });
      blocked.push(app.name);
    }
  }
  const actions: Action[] = [];
  if (freeze.length) actions.push({ type: 'freeze', orders: freeze });
  if (kill.length) actions.push({ type: 'kill', orders: kill, wait: true });
  if (blocked.length) actions.push({ type: 'sync' }, ...blocked.map((name) => log('app-blocked', why, name)));
  return { world: withApps(world, changed), actions };
}

/** Undoes the drop policies: unblock (one transaction), thaw, restart what was killed once its group is empty. */
function onUp(world: World, apps: readonly App[]): Step {
  const why = `tunnel ${world.tunnelIface} up`;
  const changed: App[] = [];
  const thaw: Order[] = [];
  const after: Action[] = [];
  for (const app of apps) {
    if (app.state === 'frozen' && !app.manualFreeze) {
      changed.push({ ...app, state: 'running', blocked: false });
      thaw.push({ name: app.name, log: { type: 'app-thawed', detail: why } });
    } else if (app.state === 'blocked') {
      changed.push({ ...app, state: 'running', blocked: false });
      after.push(log('app-unblocked', why, app.name));
    } else if (app.state === 'killed' && app.restartPending) {
      // A new instance only into an empty group: one started beside dying processes would never let it empty.
      if (app.emptied) {
        changed.push(restarted(app));
        after.push(log('app-restart', why, app.name), { type: 'restart', name: app.name });
      }
    } else if (app.state === 'killed') {
      // Registered while the tunnel was down, or killed by hand: it may run now (one still emptying goes when empty).
      changed.push({ ...app, state: 'running', emptied: false });
    } else if (app.blocked) {
      changed.push({ ...app, blocked: false });
    }
  }
  const unblock = apps.some((a) => a.blocked);
  const actions: Action[] = [{ type: 'route-into-tunnel' }];
  if (unblock) actions.push({ type: 'sync' });
  if (thaw.length) actions.push({ type: 'thaw', orders: thaw });
  return { world: withApps(world, changed), actions: [...actions, ...after] };
}
