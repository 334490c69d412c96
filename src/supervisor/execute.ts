import type { App } from './app.js';
import type { SupervisorEvent } from './types.js';
import type { Action, Input, Order, World } from './world.js';

/** The side effects the loop's actions need, given by the supervisor (fakes in tests). */
export interface Effects {
  /** The world the actions were computed for (the step's result). */
  readonly world: World;
  /** Loads the ruleset for `world` (one transaction). */
  sync(): Promise<void>;
  routeIntoTunnel(iface: string, slot: number): Promise<void>;
  ensureRouting(slot: number): Promise<void>;
  restoreRoute(route: 'unreachable' | 'tunnel', iface: string, slot: number): Promise<void>;
  /** Forgets the tracked connections carrying these marks. */
  forgetFlows(marks: readonly number[]): Promise<void>;
  /** Forgets the tracked connections of an app's sockets. */
  renewFlows(app: App): Promise<void>;
  restart(app: App): Promise<void>;
  /** Stops watching an app's group for its end. */
  unwatch(name: string): void;
  record(event: Omit<SupervisorEvent, 'at'>): void;
}

/**
 * Runs a step's actions in order and returns what they learnt, as inputs for
 * the loop (a killed group that emptied). A failed firewall load stops the
 * step at once (what follows assumes the rules are in); any other failure is
 * thrown after the remaining actions ran, so one stuck group does not spare
 * the others their freeze.
 */
export async function execute(actions: readonly Action[], fx: Effects, started: bigint): Promise<Input[]> {
  let first: unknown;
  const learnt: Input[] = [];
  for (const action of actions) {
    try {
      await run(action, fx, started, learnt);
    } catch (error) {
      if (action.type === 'sync') throw error;
      first ??= error;
    }
  }
  if (first !== undefined) throw first;
  return learnt;
}

async function run(action: Action, fx: Effects, started: bigint, learnt: Input[]): Promise<void> {
  switch (action.type) {
    case 'sync': return fx.sync();
    case 'freeze': return eachGroup(fx, action.orders, async (app) => {
      const error = await app.cgroup.freeze().then(() => undefined, (e: Error) => e);
      // Frozen all the same: cgroup.freeze is written; the kernel finishes once the process leaves its D state.
      return error ? `; not every process has stopped yet (${error.message})` : '';
    });
    case 'thaw': return eachGroup(fx, action.orders, async (app) => { await app.cgroup.thaw(); return ''; });
    case 'kill': return eachGroup(fx, action.orders, async (app, log) => {
      await app.cgroup.sendKill();
      // Logged once the signal is sent, before the group empties: the exit it causes comes after it in the log.
      log();
      if (!action.wait) return undefined;
      await app.cgroup.waitEmpty();
      // Nothing else may be watching it (a `ksapp run` app's client keeps its group while it lives).
      learnt.push({ type: 'emptied', name: app.name });
      return undefined;
    });
    case 'route-into-tunnel': return fx.routeIntoTunnel(action.iface, action.slot);
    case 'ensure-routing': return fx.ensureRouting(action.slot);
    case 'forget-flows': return fx.forgetFlows(action.marks);
    case 'renew-flows': {
      await Promise.all(action.names.flatMap((name) => {
        const app = fx.world.apps.get(name);
        return app ? [fx.renewFlows(app)] : [];
      }));
      return;
    }
    case 'restore-route':
      try {
        await fx.restoreRoute(action.route, action.iface, action.slot);
        fx.record({ type: 'route-restored', tunnel: action.iface, detail: action.what });
      } catch {
        // The interface itself is going away: the link source reports that as a transition.
      }
      return;
    case 'restart': {
      const app = fx.world.apps.get(action.name);
      if (app) await fx.restart(app);
      return;
    }
    case 'drop-group': return dropGroup(fx, action.app);
    case 'log': return fx.record(action.event);
    case 'reacted':
      fx.record({
        type: action.state === 'down' ? 'tunnel-down' : 'tunnel-up', tunnel: action.iface, detail: action.reason,
        reactionMs: Number(process.hrtime.bigint() - (action.detectedAt ?? started)) / 1e6,
      });
  }
}

/**
 * Acts on every ordered group at once and logs each order when its group is
 * done (`act` returns what to add to the log's detail, or undefined when it
 * logged by itself through `log`).
 */
async function eachGroup(fx: Effects, orders: readonly Order[], act: (app: App, log: () => void) => Promise<string | undefined>): Promise<void> {
  const results = await Promise.allSettled(orders.map(async (order) => {
    const app = fx.world.apps.get(order.name);
    if (!app) return;
    const log = (extra = ''): void => {
      if (order.log) fx.record({ ...order.log, app: order.name, ...(order.log.detail !== undefined || extra ? { detail: `${order.log.detail ?? ''}${extra}` } : {}) });
    };
    const extra = await act(app, () => log());
    if (extra !== undefined) log(extra);
  }));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Stops watching, thaws, and unless the group is someone else's (in place) kills what is left and removes it. */
async function dropGroup(fx: Effects, app: App): Promise<void> {
  fx.unwatch(app.name);
  await app.cgroup.thaw().catch(() => undefined);
  if (app.inPlace) return;
  if ((await app.cgroup.events().catch(() => ({ populated: false }))).populated) await app.cgroup.kill();
  await app.cgroup.remove();
}
