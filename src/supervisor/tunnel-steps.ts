import { markFor } from '../firewall/policy.js';
import type { App } from './app.js';
import type { TunnelTransition } from './types.js';
import type { Action, Order, Step, TunnelState, World } from './world.js';
import { log, restarted, unchanged, withApps } from './world-edit.js';

/** Up, and (multi-hop) every tunnel below it up too; a cycle of hops is never healthy. */
export function healthy(world: World, iface: string, seen: ReadonlySet<string> = new Set()): boolean {
  const t = world.tunnels.get(iface);
  if (!t || t.state !== 'up' || seen.has(iface)) return false;
  return t.via === undefined || healthy(world, t.via, new Set([...seen, iface]));
}

/** The first healthy tunnel of an app's list; undefined when none is. */
export function bestTunnel(world: World, app: Pick<App, 'tunnels'>): string | undefined {
  return app.tunnels.find((t) => healthy(world, t));
}

/** Why a tunnel is not healthy, in the words the log and the app's owner see. */
export function whyDown(world: World, iface: string, depth = 0): string {
  const t = world.tunnels.get(iface);
  if (!t) return `tunnel ${iface} is not watched`;
  if (t.state !== 'up' || t.via === undefined || depth > world.tunnels.size) return `tunnel ${iface} down: ${t.reason}`;
  return `tunnel ${iface} runs inside ${whyDown(world, t.via, depth + 1)}`;
}

/** A tunnel transition: every app's tunnel and policy afresh, then the reaction logged. */
export function onTransition(world: World, iface: string, t: TunnelTransition): Step {
  const view = world.tunnels.get(iface);
  if (!view || t.state === view.state) return unchanged(world);
  const next = withTunnel(world, iface, { ...view, state: t.state, since: t.at, reason: t.reason });
  const done = rebalance(next, [...next.apps.values()], t.state === 'up' ? iface : undefined);
  const reacted: Action = { type: 'reacted', iface, state: t.state, reason: t.reason, ...(t.detectedAt === undefined ? {} : { detectedAt: t.detectedAt }) };
  return { world: done.world, actions: [...done.actions, reacted] };
}

/** The world with one tunnel's view replaced. */
export function withTunnel(world: World, iface: string, view: TunnelState): World {
  const tunnels = new Map(world.tunnels);
  tunnels.set(iface, view);
  return { ...world, tunnels };
}

/** Under its drop policy because its tunnel failed (a manual freeze or needs-restart is not). */
const dropped = (app: App): boolean =>
  (app.state === 'frozen' && !app.manualFreeze) || app.state === 'blocked' || app.state === 'killed';

/** What one rebalance does, gathered so the kernel is touched once per kind of action. */
interface Plan {
  readonly changed: App[];
  readonly freeze: Order[];
  readonly kill: Order[];
  readonly thaw: Order[];
  /** Old marks of apps that changed tunnel. */
  readonly flows: number[];
  readonly logs: Action[];
  readonly after: Action[];
  sync: boolean;
}

/**
 * Puts every app where the tunnels' health says it belongs: an app whose
 * tunnel failed moves to the next healthy one of its list (frozen while it
 * moves) or, with none, falls under its drop policy; an app under its
 * policy comes back on the first healthy tunnel; with failback, an app goes
 * back to an earlier tunnel of its list that is healthy again. `cameUp`: the
 * tunnel whose route must be put back first.
 */
export function rebalance(world: World, apps: readonly App[], cameUp?: string, fresh = false): Step {
  const plan: Plan = { changed: [], freeze: [], kill: [], thaw: [], flows: [], logs: [], after: [], sync: false };
  for (const app of apps) place(world, app, plan, fresh);
  const actions: Action[] = [];
  const up = cameUp === undefined ? undefined : world.tunnels.get(cameUp);
  if (cameUp !== undefined && up) actions.push({ type: 'route-into-tunnel', iface: cameUp, slot: up.slot });
  if (plan.freeze.length) actions.push({ type: 'freeze', orders: plan.freeze });
  if (plan.kill.length) actions.push({ type: 'kill', orders: plan.kill, wait: true });
  if (plan.sync) actions.push({ type: 'sync' });
  if (plan.flows.length) actions.push({ type: 'forget-flows', marks: plan.flows });
  if (plan.thaw.length) actions.push({ type: 'thaw', orders: plan.thaw });
  return { world: withApps(world, plan.changed), actions: [...actions, ...plan.logs, ...plan.after] };
}

function place(world: World, found: App, plan: Plan, fresh: boolean): void {
  let app = found;
  const best = bestTunnel(world, app);
  const slotOf = (iface: string): number => world.tunnels.get(iface)?.slot ?? 0;
  if (dropped(app)) {
    if (best !== undefined) recover(best === app.rides ? app : { ...app, rides: best }, plan, best !== app.rides);
    return;
  }
  const ok = healthy(world, app.rides);
  const earlier = best !== undefined && app.tunnels.indexOf(best) < app.tunnels.indexOf(app.rides);
  if (ok && app.blocked) {
    // Blocked, then frozen by hand: the block lifts with the tunnel, the manual freeze stays.
    app = { ...app, blocked: false };
    plan.sync = true;
  }
  if (ok && !(earlier && app.failback)) {
    if (app !== found) plan.changed.push(app);
    return;
  }
  if (best === undefined) return drop(world, app, plan, fresh);
  // Moves to `best`: frozen meanwhile (a running app), its old connections forgotten (their NAT and route were the old tunnel's).
  const why = ok ? `back to ${best}, earlier in its list` : `${whyDown(world, app.rides)}; now on ${best}`;
  plan.changed.push({ ...app, rides: best });
  plan.sync = true;
  plan.flows.push(markFor(app.id, slotOf(app.rides)));
  if (app.state === 'running' && !fresh) {
    plan.freeze.push({ name: app.name });
    plan.thaw.push({ name: app.name });
  }
  plan.logs.push(log('app-moved', `from ${app.rides} to ${best}: ${why}`, app.name));
}

/** The app's drop policy: freeze, kill (waited for), or block (one transaction for all). */
function drop(world: World, app: App, plan: Plan, fresh: boolean): void {
  const why = whyDown(world, app.rides);
  if (app.onDrop === 'freeze' && app.state === 'running') {
    // Frozen from the moment cgroup.freeze is written, also when a process stuck in uninterruptible I/O keeps
    // the kernel from finishing (the freeze times out): the tunnel coming back must thaw it all the same.
    plan.changed.push({ ...app, state: 'frozen' });
    plan.freeze.push({ name: app.name, log: { type: 'app-frozen', detail: why } });
  } else if (app.onDrop === 'kill' && app.state === 'running' && fresh) {
    // A group made a moment ago holds nothing to kill; it may run once the tunnel is back.
    plan.changed.push({ ...app, state: 'killed', emptied: true });
  } else if (app.onDrop === 'kill' && app.state === 'running') {
    plan.changed.push({ ...app, state: 'killed', restartPending: app.restart, emptied: false });
    plan.kill.push({ name: app.name, log: { type: 'app-killed', detail: why } });
  } else if (app.onDrop === 'block' && !app.blocked) {
    plan.changed.push({ ...app, state: 'blocked', blocked: true });
    plan.sync = true;
    plan.logs.push(log('app-blocked', why, app.name));
  }
}

/** Undoes the drop policy on the app's (new) tunnel: unblock, thaw, restart what was killed once its group is empty. */
function recover(app: App, plan: Plan, moved: boolean): void {
  const why = `tunnel ${app.rides} up`;
  if (moved) plan.sync = true;
  if (app.state === 'frozen') {
    plan.changed.push({ ...app, state: 'running', blocked: false });
    plan.thaw.push({ name: app.name, log: { type: 'app-thawed', detail: why } });
  } else if (app.state === 'blocked') {
    plan.changed.push({ ...app, state: 'running', blocked: false });
    plan.sync = true;
    plan.logs.push(log('app-unblocked', why, app.name));
  } else if (app.restartPending) {
    // A new instance only into an empty group: one started beside dying processes would never let it empty.
    if (app.emptied) {
      plan.changed.push(restarted(app));
      plan.after.push(log('app-restart', why, app.name), { type: 'restart', name: app.name });
    } else if (moved) {
      plan.changed.push(app);
    }
  } else {
    // Registered while the tunnel was down, or killed by hand: it may run now (one still emptying goes when empty).
    plan.changed.push({ ...app, state: 'running', emptied: false });
  }
}
