import { cgroupLevel, nftCgroupPath } from '../../cgroups/index.js';
import { applyPolicy, ensureRouting, forgetMarked, routeIntoTunnel, type FirewallPolicy } from '../firewall/index.js';
import type { Effects } from './execute.js';
import { renewFlows } from '../adopt/renew-flows.js';
import type { Allowlist } from '../config/allow.js';
import { liveAddresses } from './allow-names.js';
import type { Families, World } from './world.js';

/** The firewall policy for a world at `now` (pure): allowlisted names' addresses carry their remaining life. */
export function policyFor(world: World, cgroupRoot: string, parentPath: string, now: number): FirewallPolicy {
  const ranges = (a: Allowlist): Families => ({ v4: a.v4, v6: a.v6 });
  const named = (a: Allowlist | undefined): { allowNamed?: ReturnType<typeof liveAddresses> } => (a?.names.length ? { allowNamed: liveAddresses(world, a.names, now) } : {});
  const ref = (p: string): { nftPath: string; level: number } => ({ nftPath: nftCgroupPath(cgroupRoot, p), level: cgroupLevel(cgroupRoot, p) });
  const slotOf = (iface: string): number => world.tunnels.get(iface)?.slot ?? 0;
  return {
    tunnelIface: world.primary,
    tunnels: [...world.tunnels].filter(([, t]) => t.slot > 0).map(([iface, t]) => ({ iface, slot: t.slot, dns: t.dns })),
    hopGuards: [...world.tunnels].flatMap(([iface, t]) => (t.via === undefined || !t.endpoints?.length ? [] : [{ inner: iface, outer: t.via, endpoints: t.endpoints }])),
    parent: ref(parentPath),
    apps: [...world.apps.values()].map((a) => ({
      id: a.id, name: a.name, cgroup: ref(a.cgroup.path), allowLan: a.allowLan, blocked: a.blocked, ...(slotOf(a.rides) > 0 ? { slot: slotOf(a.rides) } : {}),
      ...(a.allow ? { allow: ranges(a.allow) } : {}), ...named(a.allow), ...(a.forwarded?.length ? { forwarded: a.forwarded } : {}),
    })),
    dns: world.dns,
    lan: world.lan,
    ...(world.allow ? { allow: ranges(world.allow) } : {}), ...named(world.allow),
  };
}

/** The loop's effects on the kernel (rules, routes) for a world; what is not the kernel's comes from the supervisor. */
export function kernelEffects(world: World, from: Pick<Effects, 'restart' | 'unwatch' | 'record'> & { policy(world: World): FirewallPolicy }): Effects {
  return {
    world,
    sync: async () => { await applyPolicy(from.policy(world)); },
    routeIntoTunnel: (iface, slot) => routeIntoTunnel(iface, slot),
    ensureRouting: (slot) => ensureRouting(null, slot),
    restoreRoute: (route, iface, slot) => (route === 'unreachable' ? ensureRouting(null, slot) : routeIntoTunnel(iface, slot)),
    forgetFlows: (marks) => forgetMarked(marks),
    renewFlows: (app) => renewFlows(app.cgroup),
    restart: from.restart,
    unwatch: from.unwatch,
    record: from.record,
  };
}
