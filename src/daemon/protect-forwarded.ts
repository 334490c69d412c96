// `ksapp protect --container` and `--iface`: traffic this host routes for a
// container or a VM, confined where it comes in (see forwardedChains in the
// ruleset); the container's or VM's group is what the kill switch freezes.
import path from 'node:path';
import { containerGroup, findContainer, groupsSharingNet, type FoundContainer } from '../adopt/container.js';
import { readContainerSources } from '../adopt/container-net.js';
import { resolveCgroupPath, unitCgroup } from '../adopt/index.js';
import type { ForwardedRule } from '../firewall/policy.js';
import { rangesOverlap, splitHosts } from '../config/hosts.js';
import { ipInCidr } from '../config/ip.js';
import { ifaceNameProblem } from '../iface-name.js';
import type { PeerCred } from '../ipc/peercred.js';
import type { Request } from '../ipc/protocol.js';
import { defaultAppName, SupervisorError, uniqueName, type App, type Supervisor } from '../supervisor/index.js';
import { runTool, tools } from '../tools.js';
import type { ProtectResult } from './protect.js';

type ProtectRequest = Extract<Request, { op: 'protect' }>;

const refused = (code: string, message: string, hint: string): SupervisorError => new SupervisorError(message, { code, exitCode: 2, hint });

/** Changing how this host routes for others is root's: a user could otherwise steer a neighbour's traffic. */
function requireRootFor(what: string, peer: PeerCred): void {
  if (peer.uid !== 0) throw new SupervisorError(`only root may protect ${what}: it changes how this host routes for it`, { code: 'NOT_AUTHORIZED', hint: `run it with sudo: sudo ksapp protect …` });
}

/** The interfaces a forwarded source must not be: a watched tunnel, the uplink of a default route, loopback (pure). */
export function sourceIfaceProblem(iface: string, tunnels: readonly string[], uplinks: readonly string[]): string | undefined {
  if (iface === 'lo') return 'is loopback: nothing is forwarded from it';
  if (tunnels.includes(iface)) return 'is a tunnel ksapp watches: its traffic already is the tunnel';
  if (uplinks.includes(iface)) return 'carries this host\'s default route (the uplink): confining it would confine the host itself';
  return undefined;
}

/** The interfaces this host's default routes leave by. */
async function uplinks(): Promise<string[]> {
  const routes = await Promise.all(['-4', '-6'].map((f) => runTool(tools.ip, ['-j', f, 'route', 'show', 'default']).catch(() => '[]')));
  return routes.flatMap((text) => (JSON.parse(text) as Array<{ dev?: string }>).flatMap((r) => (r.dev ? [r.dev] : [])));
}

async function checkSources(sup: Supervisor, rules: readonly ForwardedRule[], what: string): Promise<void> {
  const up = await uplinks();
  for (const r of rules) {
    const problem = sourceIfaceProblem(r.iface, [...sup.tunnels.keys()], up);
    if (problem) throw refused('SOURCE_BAD_IFACE', `${what}: interface ${r.iface} ${problem}`, 'give the interface the container, VM or LAN hosts send on (a bridge, a tap, the LAN port)');
    for (const other of sup.apps.values()) {
      const clash = other.forwarded?.find((f) => f.iface === r.iface && ((!f.v4.length && !f.v6.length && !f.macs?.length) || (!r.v4.length && !r.v6.length)
        || [...f.v4, ...f.v6].some((a) => [...r.v4, ...r.v6].some((b) => rangesOverlap(a, b))) || (f.macs ?? []).some((m) => r.macs?.includes(m))));
      if (clash) throw refused('APP_EXISTS', `${what}: traffic from ${r.iface}${r.v4.length ? ` ${r.v4.join(', ')}` : ''} is already protected as ${other.name}`, `release ${other.name} first`);
    }
  }
}

/**
 * Forgets the flows that existed before: their NAT and route were decided
 * outside the tunnel. conntrack deletes by exact address only, so a range's
 * or a MAC's hosts are found among the tracked flows and the neighbours first.
 */
async function renewSources(rules: readonly ForwardedRule[]): Promise<void> {
  // The whole table is read only for a range wider than one host: on a busy router it is large.
  const wide = rules.some((r) => [...r.v4, ...r.v6].some((range) => !/\/(32|128)$/.test(range)));
  const tracked = wide ? await Promise.all(['ipv4', 'ipv6'].map((f) => runTool(tools.conntrack, ['-L', '-f', f]).catch(() => ''))) : [];
  const neighbours = await Promise.all(rules.map((r) => (r.macs?.length ? runTool(tools.ip, ['-j', 'neigh', 'show', 'dev', r.iface]).catch(() => '[]') : Promise.resolve('[]'))));
  const addrs = sourcesToRenew(rules, tracked.join('\n'), neighbours);
  await Promise.all(addrs.flatMap((addr) => {
    const family = addr.includes(':') ? 'ipv6' : 'ipv4';
    return [['--orig-src', addr], ['--reply-src', addr]].map((dir) => runTool(tools.conntrack, ['-D', '-f', family, ...dir]).catch(() => undefined));
  }));
}

/**
 * The addresses whose flows to renew (pure): each single-host range as it is,
 * the tracked flows' sources inside a wider range, and the neighbours with a
 * listed MAC (`ip -j neigh` of each rule's interface, in rule order).
 */
export function sourcesToRenew(rules: readonly ForwardedRule[], conntrackList: string, neighbours: readonly string[]): string[] {
  const out = new Set<string>();
  // A flow's first `src=` is its original direction's source.
  const trackedSources = conntrackList.split('\n').flatMap((line) => /\bsrc=(\S+)/.exec(line)?.slice(1, 2) ?? []);
  rules.forEach((r, i) => {
    for (const range of [...r.v4, ...r.v6]) {
      const [addr, prefix] = range.split('/');
      if (prefix === '32' || prefix === '128' || prefix === undefined) out.add(addr!);
      else for (const src of trackedSources) if (safeInCidr(src, range)) out.add(src);
    }
    if (r.macs?.length) {
      for (const n of JSON.parse(neighbours[i] ?? '[]') as Array<{ dst?: string; lladdr?: string }>) {
        if (n.dst && n.lladdr && r.macs.includes(n.lladdr.toLowerCase())) out.add(n.dst);
      }
    }
  });
  return [...out];
}

const safeInCidr = (ip: string, range: string): boolean => {
  try {
    return ipInCidr(ip, range);
  } catch {
    return false;
  }
};

/** What a forwarded source's DNS becomes without a resolver in its tunnel (pure); '' when there is one. */
export function dnsWarning(tunnel: string, dns: { readonly v4: readonly string[] }): string {
  return dns.v4.length ? '' : `warning: tunnel ${tunnel} has no resolver (dns.servers, or its tunnels[].dns): lookups to a local resolver `
    + '(Podman\'s aardvark, the router) are dropped; only those to a server beyond this machine go, through the tunnel';
}

/** The result, with the DNS warning when it applies. */
function result(sup: Supervisor, app: App, note: string): ProtectResult {
  const warning = dnsWarning(app.rides, sup.resolversOf(app.rides));
  return { name: app.name, cgroup: app.cgroup.path, moved: 0, gone: 0, unprotected: [], listenersClosed: [], marked: [], dnsBypass: [], note: warning ? `${note}\n${warning}` : note };
}

const describe = (rules: readonly ForwardedRule[]): string =>
  rules.map((r) => `${[...r.v4, ...r.v6, ...(r.macs ?? [])].join(', ') || 'everything'} on ${r.iface}`).join('; ');

/**
 * `protect --container`: its traffic leaves only through the tunnel, its DNS
 * goes to the tunnel's resolver, new connections reach it only from the
 * tunnel, and the kill switch acts on its group. A container on the host's
 * network is an app like any other: protected by its group.
 */
export async function protectContainer(sup: Supervisor, root: string, r: ProtectRequest, peer: PeerCred,
  asGroup: (abs: string, name: string) => Promise<ProtectResult>, origin: App['origin'] = 'adopted'): Promise<ProtectResult> {
  requireRootFor('a container', peer);
  const found: FoundContainer = await findContainer(r.container!);
  const name = r.name ?? uniqueName(defaultAppName(found.ref.name), (n) => sup.apps.has(n));
  const group = await containerGroup(found.pid, root);
  if (found.networkMode === 'host') {
    const done = await asGroup(group, name);
    return { ...done, note: `container ${found.ref.name} uses the host's network: protected as an app, by its group ${group}` };
  }
  if (found.networkMode.startsWith('container:')) {
    throw refused('CONTAINER_SHARED_NET', `container ${found.ref.name} uses the network of another container (${found.networkMode})`,
      `protect that one (ksapp protect --container ${found.networkMode.slice('container:'.length).slice(0, 12)}): its traffic is this one's too, and freezing it stops both`);
  }
  const same = [...sup.apps.values()].find((a) => a.container?.id === found.ref.id || a.cgroup.path === group);
  if (same) throw refused('APP_EXISTS', `container ${found.ref.name} is already protected as ${same.name}`, 'see `ksapp status`');
  const sources = await readContainerSources(found.pid, found.ref.name);
  await checkSources(sup, sources, `container ${found.ref.name}`);
  const app = await sup.addApp({
    name, onDrop: r.onDrop ?? 'freeze', allowLan: false, restart: false, uid: 0, origin, inPlace: group,
    forwarded: sources, container: found.ref, ...(r.tunnels ? { tunnels: r.tunnels } : {}),
  });
  await renewSources(sources);
  sup.record({ type: 'app-adopted', app: app.name, detail: `${found.ref.runtime} container ${found.ref.name}: ${describe(sources)}, in place at ${group}` });
  sup.watchExit(app);
  const sharing = await protectSharing(sup, app, found.pid, root);
  return result(sup, app, `${found.ref.runtime} container ${found.ref.name}: ${describe(sources)}${sharing.length ? `; sharing its network, stopped with it: ${sharing.join(', ')}` : ''}`);
}

/** LAN hosts on an interface (pure): hosts given by IPv4 alone bring all of the interface's IPv6 with them. */
export function hostsRule(iface: string, hosts: readonly string[]): ForwardedRule {
  const { v4, v6, macs } = splitHosts(hosts);
  return { iface, v4, v6, ...(macs.length ? { macs } : {}), ...(v4.length && !v6.length && !macs.length ? { v6All: true } : {}) };
}

/** What an interface with these hosts is held as (pure): all of its traffic when no host is named. */
export function ifaceRule(iface: string, hosts: readonly string[]): ForwardedRule {
  return hosts.length ? hostsRule(iface, hosts.map((h) => h.toLowerCase())) : { iface, v4: [], v6: [] };
}

/** A LAN range that overlaps a tunnel's own addresses would send the tunnel's traffic to itself. */
async function checkOverlap(sup: Supervisor, rule: ForwardedRule): Promise<void> {
  for (const tunnel of sup.tunnels.keys()) {
    const text = await runTool(tools.ip, ['-j', 'addr', 'show', 'dev', tunnel]).catch(() => '[]');
    const own = (JSON.parse(text) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>)
      .flatMap((l) => (l.addr_info ?? []).flatMap((a) => (a.local ? [`${a.local}/${a.prefixlen ?? (a.local.includes(':') ? 128 : 32)}`] : [])));
    for (const range of [...rule.v4, ...rule.v6]) {
      const clash = own.find((o) => rangesOverlap(o, range));
      if (clash) throw refused('SOURCE_OVERLAPS_TUNNEL', `LAN range ${range} overlaps the tunnel ${tunnel}'s own ${clash}`, 'give the LAN hosts\' range only; renumber the LAN if it really shares the tunnel\'s subnet');
    }
  }
}

/**
 * Containers in the protected one's network namespace: their packets already
 * meet its rules (same addresses), and each group is an app of its own, so the
 * kill switch freezes it too. Returns their app names.
 */
async function protectSharing(sup: Supervisor, app: App, pid: number, root: string): Promise<string[]> {
  const names: string[] = [];
  for (const group of await groupsSharingNet(pid, root, app.cgroup.path)) {
    if ([...sup.apps.values()].some((a) => a.cgroup.path === group)) continue;
    const name = uniqueName(defaultAppName(`${app.name}-${path.basename(group).replace(/^libpod-|^docker-/, '').slice(0, 12)}`), (n) => sup.apps.has(n));
    const shared = await sup.addApp({
      name, onDrop: app.onDrop, allowLan: false, restart: false, uid: 0, origin: 'adopted', inPlace: group, tunnels: app.tunnels,
    });
    sup.record({ type: 'app-adopted', app: name, detail: `shares the network of ${app.name}; in place at ${group}` });
    sup.watchExit(shared);
    names.push(name);
  }
  return names;
}

/**
 * `protect --iface`: everything arriving on a routed interface (a VM's tap).
 * With the VM's group (--cgroup, --unit) the kill switch acts on it; without,
 * the interface is blocked while the tunnel is down.
 */
export async function protectIface(sup: Supervisor, root: string, r: ProtectRequest, peer: PeerCred, origin: App['origin'] = 'adopted'): Promise<ProtectResult> {
  requireRootFor('an interface', peer);
  const iface = r.iface!;
  const bad = ifaceNameProblem(iface);
  if (bad) throw refused('SOURCE_BAD_IFACE', `--iface ${bad}`, 'give the VM\'s tap or the routed interface, as `ip link` shows it');
  if (!(await runTool(tools.ip, ['link', 'show', 'dev', iface]).then(() => true, () => false))) {
    throw refused('SOURCE_BAD_IFACE', `no interface named ${iface}`, 'start the VM (or create the interface) first; `ip link` lists what exists');
  }
  const group = r.unit !== undefined ? await unitCgroup(r.unit, { root }) : r.cgroup !== undefined ? resolveCgroupPath(r.cgroup, { root, ksappParent: sup.parentPath }) : undefined;
  if (group === undefined && r.onDrop !== undefined && r.onDrop !== 'block') {
    throw refused('SOURCE_NO_GROUP', `--on-drop ${r.onDrop} needs the VM's group: without one there is nothing to ${r.onDrop}`, 'add --cgroup PATH or --unit UNIT of the VM process, or use --on-drop block');
  }
  const sources: ForwardedRule[] = [ifaceRule(iface, r.hosts ?? [])];
  await checkSources(sup, sources, `interface ${iface}`);
  await checkOverlap(sup, sources[0]!);
  const name = r.name ?? uniqueName(defaultAppName(iface), (n) => sup.apps.has(n));
  const app = await sup.addApp({
    name, onDrop: group === undefined ? 'block' : (r.onDrop ?? 'freeze'), allowLan: false, restart: false, uid: 0, origin,
    ...(group !== undefined ? { inPlace: group } : {}), forwarded: sources, ...(r.tunnels ? { tunnels: r.tunnels } : {}),
  });
  await renewSources(sources);
  const what = `${describe(sources)}${sources[0]!.v6All ? ' (and all IPv6 from it)' : ''}`;
  sup.record({ type: 'app-adopted', app: app.name, detail: `${what}${group ? `, its VM's group ${group}` : ', blocked while the tunnel is down'}` });
  if (group !== undefined) sup.watchExit(app);
  return result(sup, app, `${what}: ${group ? `the kill switch acts on ${group}` : 'blocked while the tunnel is down (no group to freeze)'}`);
}
