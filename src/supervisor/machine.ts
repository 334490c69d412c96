import { allowEntries, isEmptyAllow } from '../config/allow.js';
import { markFor, MAX_APP_ID, tableFor } from '../firewall/policy.js';
import { appsUsing, mergeAnswer, sameAddresses, sameResolved } from './allow-names.js';
import { nextAppId } from './app.js';
import type { App } from './app.js';
import { SupervisorError } from './errors.js';
import { bestTunnel, healthy, onTransition, rebalance, withTunnel } from './tunnel-steps.js';
import type { Action, Input, Order, Step, World } from './world.js';
import { log, restarted, unchanged, withApps, without } from './world-edit.js';

/**
 * The supervisor's one state machine (pure): from the world and one input to
 * the next world and the actions that make the kernel match it. An app's
 * state is written here and nowhere else; the loop (loop.ts) runs the
 * actions in order, one input at a time. Refusals (a user's command that
 * cannot be done) throw a SupervisorError and change nothing.
 */
export function step(world: World, input: Input): Step {
  switch (input.type) {
    case 'tunnel': return onTransition(world, input.iface, input.transition);
    case 'start-grace': {
      // A tunnel already dead at start never produces a transition: the monitor's belief stands in for one.
      if (!input.monitorDown || world.tunnels.get(input.iface)?.state !== 'unknown') return unchanged(world);
      return onTransition(world, input.iface, { state: 'down', reason: `the tunnel did not come up${input.why ? `: ${input.why}` : ''}`, at: input.at });
    }
    case 'tunnel-reason': {
      const t = world.tunnels.get(input.iface);
      if (!t || t.state !== 'down' || t.reason === input.reason) return unchanged(world);
      return { world: withTunnel(world, input.iface, { ...t, reason: input.reason }), actions: [log('tunnel-reason', input.reason, undefined, input.iface)] };
    }
    case 'tunnel-endpoints': {
      const t = world.tunnels.get(input.iface);
      if (!t || (t.endpoints ?? []).join(' ') === input.endpoints.join(' ')) return unchanged(world);
      // Only a tunnel inside another has its endpoints in the ruleset.
      return { world: withTunnel(world, input.iface, { ...t, endpoints: input.endpoints }), actions: t.via === undefined ? [] : [{ type: 'sync' }] };
    }
    case 'tunnel-added': {
      if (world.tunnels.has(input.iface)) return unchanged(world);
      const view = { state: 'unknown', since: Date.now(), reason: 'starting', slot: input.slot, dns: input.dns, ...(input.via ? { via: input.via } : {}) } as const;
      return { world: withTunnel(world, input.iface, view), actions: [{ type: 'ensure-routing', iface: input.iface, slot: input.slot }, { type: 'sync' }] };
    }
    case 'route': {
      // Our tables are ours alone: a default route someone removed while its tunnel is up goes back.
      const r = input.change;
      const [iface, t] = [...world.tunnels].find(([, v]) => String(tableFor(v.slot)) === r.table) ?? [];
      if (!r.deleted || r.dst !== 'default' || iface === undefined || t?.state !== 'up') return unchanged(world);
      return { world, actions: [{ type: 'restore-route', route: r.type === 'unreachable' ? 'unreachable' : 'tunnel', iface, slot: t.slot, what: `${r.type} default route in table ${r.table}` }] };
    }
    case 'recovered':
      return {
        world: withApps(world, input.apps),
        actions: [{ type: 'sync' }, ...input.apps.map((a) => log('app-recovered', `${a.state}, policy ${a.onDrop}`, a.name))],
      };
    case 'add': return onAdd(world, input.app, input.empty);
    case 'adopted': {
      const app = findApp(world, input.name);
      const known = app.adoption;
      const adoption = known ? { ...known, moved: [...known.moved, ...input.adoption.moved] } : input.adoption;
      return { world: withApps(world, [{ ...app, adoption }]), actions: [] };
    }
    case 'unsafe-sockets': {
      const app = findApp(world, input.name);
      return {
        world: withApps(world, [{ ...app, state: 'needs-restart' }]),
        actions: [{ type: 'freeze', orders: [{ name: app.name, log: { type: 'app-needs-restart', detail: input.detail } }] }],
      };
    }
    case 'emptied': return onEmptied(world, input.name);
    case 'remove': {
      const app = world.apps.get(input.name);
      if (!app) return unchanged(world);
      // Traffic routed for others keeps its tunnel NAT and mark per connection: released, its flows start afresh by the main table.
      const flows: Action[] = app.forwarded?.length ? [{ type: 'forget-flows', marks: [markFor(app.id, world.tunnels.get(app.rides)?.slot ?? 0)] }] : [];
      return { world: without(world, app.name), actions: [{ type: 'drop-group', app }, { type: 'sync' }, ...flows, log('app-removed', undefined, app.name)] };
    }
    case 'settings': {
      const next = { ...world, dns: input.dns ?? world.dns, lan: input.lan ?? world.lan, ...(input.allow ? { allow: input.allow } : {}) };
      const renew = JSON.stringify(world.allow ?? null) === JSON.stringify(next.allow ?? null) ? [] : [{ type: 'renew-flows', names: [...world.apps.keys()] } as const];
      return { world: next, actions: [{ type: 'sync' }, ...renew] };
    }
    case 'app-allow': {
      const app = world.apps.get(input.name);
      const allow = isEmptyAllow(input.allow) ? undefined : input.allow;
      if (!app || JSON.stringify(app.allow ?? null) === JSON.stringify(allow ?? null)) return unchanged(world);
      const { allow: _old, ...rest } = app;
      return {
        world: withApps(world, [{ ...rest, ...(allow ? { allow } : {}) }]),
        actions: [{ type: 'sync' }, { type: 'renew-flows', names: [app.name] }, log('app-allow', `may reach directly: ${allowEntries(allow).join(', ') || 'nothing'}`, app.name)],
      };
    }
    case 'resolved': {
      const before = world.resolved?.get(input.name);
      const after = mergeAnswer(before, input.answer, input.at);
      if (sameResolved(before, after)) return unchanged(world);
      const resolved = new Map(world.resolved ?? []).set(input.name, after);
      const users = appsUsing(world, input.name);
      if (users === undefined) return { world: { ...world, resolved }, actions: [] };
      // The ruleset carries each address with its remaining life: a changed answer or a renewed one is loaded;
      // flows of the apps using the name take their new path once its addresses change.
      const moved = sameAddresses(before, after) ? [] : [{ type: 'renew-flows', names: users } as const];
      return { world: { ...world, resolved }, actions: [{ type: 'sync' }, ...moved] };
    }
    case 'freeze': case 'thaw': case 'kill': return onCommand(world, input.type, input.name);
  }
}

/** Looks an app up by name or refuses with a message listing what exists. */
export function findApp(world: Pick<World, 'apps'>, name: string): App {
  const app = world.apps.get(name);
  if (app) return app;
  const names = [...world.apps.keys()];
  throw new SupervisorError(`no protected app named "${name}"`, {
    code: 'APP_UNKNOWN', exitCode: 2,
    hint: names.length ? `protected apps: ${names.join(', ')}` : 'no app is protected right now (ksapp status)',
  });
}

function onAdd(world: World, given: App, empty: boolean): Step {
  if (world.apps.has(given.name)) {
    throw new SupervisorError(`an app named "${given.name}" is already protected`, {
      code: 'APP_EXISTS', exitCode: 2, hint: 'choose another --name, or release the running one first',
    });
  }
  // The id is given here, in turn: two apps added at once must never share one (it is their packet mark).
  const id = nextAppId([...world.apps.values()].map((a) => a.id));
  if (id > MAX_APP_ID) {
    throw new SupervisorError(`cannot protect more than ${MAX_APP_ID} apps at once`, { code: 'TOO_MANY_APPS', hint: 'release apps that are no longer needed (ksapp status)' });
  }
  const app = { ...given, id, rides: bestTunnel(world, given) ?? given.tunnels[0] ?? world.primary };
  const added = withApps(world, [app]);
  const first: Action[] = [{ type: 'sync' }, log('app-added', `policy ${app.onDrop}${app.tunnels.length > 1 || app.rides !== world.primary ? `, on ${app.tunnels.join(', then ')}` : ''}`, app.name)];
  // A new app while no tunnel of its list is up starts under its drop policy, or an `up` would have nothing to undo.
  if (healthy(added, app.rides)) return { world: added, actions: first };
  const down = rebalance(added, [app], undefined, empty);
  return { world: down.world, actions: [...first, ...down.actions] };
}

function onEmptied(world: World, name: string): Step {
  const app = world.apps.get(name);
  if (!app) return unchanged(world);
  if (app.state === 'killed' && app.restartPending) {
    const best = bestTunnel(world, app);
    if (best === undefined) return { world: withApps(world, [{ ...app, emptied: true }]), actions: [] };
    const why = `tunnel ${best} up; its killed processes have exited`;
    const moved = best === app.rides ? [] : [{ type: 'sync' } as const];
    return { world: withApps(world, [{ ...restarted(app), rides: best }]), actions: [...moved, log('app-restart', why, name), { type: 'restart', name }] };
  }
  return {
    world: without(world, name),
    actions: [log('app-exited', undefined, name), { type: 'drop-group', app }, { type: 'sync' }, log('app-removed', undefined, name)],
  };
}

function onCommand(world: World, command: 'freeze' | 'thaw' | 'kill', name: string): Step {
  const app = findApp(world, name);
  const byRequest = (type: 'app-frozen' | 'app-thawed' | 'app-killed'): Order => ({ name, log: { type, detail: 'by request' } });
  if (command === 'freeze') {
    // Frozen (and to be thawed by hand only) once cgroup.freeze is written, whether or not the kernel finishes in time.
    return { world: withApps(world, [{ ...app, state: 'frozen', manualFreeze: true }]), actions: [{ type: 'freeze', orders: [byRequest('app-frozen')] }] };
  }
  if (command === 'kill') {
    return { world: withApps(world, [{ ...app, state: 'killed', restartPending: false }]), actions: [{ type: 'kill', orders: [byRequest('app-killed')], wait: false }] };
  }
  if (world.tunnels.get(app.rides)?.state === 'down' && app.onDrop === 'freeze' && bestTunnel(world, app) === undefined) {
    throw new SupervisorError(`cannot thaw ${name}: the tunnel is down (${world.tunnels.get(app.rides)?.reason})`, {
      code: 'TUNNEL_DOWN', exitCode: 1,
      hint: 'it thaws by itself when the tunnel is back; its traffic could not leave anyway, the firewall still confines it',
    });
  }
  if (app.state === 'needs-restart') {
    throw new SupervisorError(`cannot thaw ${name}: sockets it opened before it was adopted are outside protection`, {
      code: 'NEEDS_RESTART', exitCode: 1, hint: `restart the app: \`ksapp kill ${name}\`, then start it again (through \`ksapp run\`, or let a config rule adopt it)`,
    });
  }
  const state = app.state === 'frozen' ? (app.blocked ? 'blocked' : 'running') : app.state;
  return { world: withApps(world, [{ ...app, state, manualFreeze: false }]), actions: [{ type: 'thaw', orders: [byRequest('app-thawed')] }] };
}
