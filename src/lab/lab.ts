// createLab: the four namespaces, the tunnel, the recorders, and the handle
// the e2e tests and `ksapp demo` drive.
import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { registerLab, removeLeftoverLabs, teardown, unregisterLab } from './cleanup.js';
import { LabError } from './errors.js';
import { faultsFor, tunnelFaults, type Faults, type TunnelFaults } from './faults.js';
import { addNamespace, execIn, ipBatch, nftIn, nsenterArgs, sysctlIn } from './netns.js';
import { readRecords, startRecorder, type Received } from './recorder.js';
import { claimStateDir, recordPid } from './state.js';
import { ispRuleset, vpnNatRuleset } from './rulesets.js';
import {
  BASE_SYSCTLS, ROUTER_SYSCTLS, clientUnderlayRoutes, isSuffix, linkCommands, planFor, tunnelSpecs, type LabMode, type LabPlan, type TunnelPlan,
} from './topology.js';
import { startClient, startServer, tunnelState, waitTunnel, type TunnelState } from './tunnel.js';

/** The internet host's names with records of their own (see serveNames), in the lab's directory. */
const ZONE_FILE = 'zone.json';

/** A running lab. */
export interface Lab {
  suffix: string;
  mode: LabMode;
  ns: LabPlan['ns'];
  tunnel: TunnelPlan;
  /** The second tunnel (same shape as `tunnel`); only in a lab created with `tunnels: 2`. */
  tunnel2?: TunnelPlan;
  /** vpnPublic4b/6b: the second tunnel's endpoint and exit, only with `tunnels: 2`. */
  addr: {
    client4: string; client6: string; vpnPublic4: string; vpnPublic6: string; internet4: string; internet6: string;
    vpnPublic4b?: string; vpnPublic6b?: string;
  };
  /** The lab's state directory (logs, keys, pids). */
  dir: string;
  /** Argv prefix running a command in a namespace (a name, or a role: 'client', 'isp', 'vpn', 'internet'). */
  nsenterArgs(ns: string): string[];
  /** Runs a command in a namespace (name or role) and returns its stdout. */
  exec(ns: string, argv: readonly string[]): Promise<string>;
  /** Everything the internet host logged (traffic to port 7000 and the ISP resolver's queries). */
  received(): Promise<Received[]>;
  /** Everything the VPN server's recorder logged (it listens on the tunnel addresses, both tunnels' with `tunnels: 2`). */
  serverReceived(): Promise<Received[]>;
  /** The DNS queries the tunnels' resolver (10.66.0.1 / fd66::1, and 10.67.0.1 / fd67::1 with `tunnels: 2`) answered; `dst` tells which. */
  tunnelDnsQueries(): Promise<Received[]>;
  /**
   * Makes the internet host's resolver (port 53 of `addr.internet4/6`) answer these names with these
   * records and TTL (seconds), in place of its fixed answer; a name listed without addresses gets an empty answer.
   */
  serveNames(zone: Readonly<Record<string, { a?: readonly string[]; aaaa?: readonly string[]; ttl: number }>>): Promise<void>;
  /** Where a packet with this source address came from, as the internet host sees it ('tunnel2': the second tunnel's exit). */
  origin(src: string): 'tunnel' | 'tunnel2' | 'client' | 'other';
  faults: Faults;
  /** The second tunnel's faults; only with `tunnels: 2`. */
  faults2?: TunnelFaults;
  /** Removes the lab: processes (by pid), namespaces, wireguard sockets, state. Idempotent. */
  destroy(): Promise<void>;
}

/** Options of createLab. */
export interface LabOptions {
  mode?: LabMode;
  /** Six hex digits; random by default. */
  suffix?: string;
  /** 2 adds a second tunnel to another server interface with its own exit address (app routing only: its subnet); 1 by default. */
  tunnels?: 1 | 2;
}

function claim(wanted: string | undefined): { suffix: string; dir: string } {
  if (wanted !== undefined && !isSuffix(wanted)) throw new LabError(`bad lab suffix "${wanted}"`, 'use six lowercase hex digits');
  for (let attempt = 0; ; attempt++) {
    const suffix = wanted ?? randomBytes(3).toString('hex');
    try {
      return { suffix, dir: claimStateDir(suffix) };
    } catch (error) {
      if (wanted !== undefined || attempt >= 5) throw new LabError(`lab ${suffix} already exists`, 'destroy it or run removeLeftoverLabs()', error);
    }
  }
}

async function buildNetwork(p: LabPlan): Promise<void> {
  const all = Object.values(p.ns);
  await Promise.all(all.map((ns) => addNamespace(ns)));
  await Promise.all(all.map((ns) => sysctlIn(ns, ns === p.ns.isp || ns === p.ns.vpn ? { ...BASE_SYSCTLS, ...ROUTER_SYSCTLS } : BASE_SYSCTLS)));
  const cmds = linkCommands(p);
  await ipBatch(p.ns.isp, cmds.isp);
  await Promise.all([
    ipBatch(p.ns.client, [...cmds.client, ...clientUnderlayRoutes(p)]),
    ipBatch(p.ns.vpn, cmds.vpn),
    ipBatch(p.ns.internet, cmds.internet),
    nftIn(p.ns.isp, ispRuleset(p)),
    nftIn(p.ns.vpn, vpnNatRuleset(p)),
  ]);
}

async function startServices(tunnels: readonly TunnelState[]): Promise<void> {
  const [first] = tunnels;
  if (!first) throw new LabError('a lab needs a tunnel', 'this is a bug in the lab');
  const { plan: p, dir } = first;
  const answers = { answer4: p.addr.internet4, answer6: p.addr.internet6 };
  const internet = startRecorder(p.ns.internet, {
    log: join(dir, 'internet.jsonl'), bind: [p.addr.internet4, p.addr.internet6], ...answers, zone: join(dir, ZONE_FILE),
  }, join(dir, 'recorder-internet.log'));
  internet.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
  await Promise.all(tunnels.map((t) => startServer(t)));
  // The tunnels' resolver binds the servers' tunnel addresses, which exist from here on.
  const bind = tunnels.flatMap((t) => [t.spec.ends.server4, t.spec.ends.server6]);
  const server = startRecorder(p.ns.vpn, { log: join(dir, 'server.jsonl'), bind, ...answers }, join(dir, 'recorder-server.log'));
  server.catch(() => undefined);
  await Promise.all(tunnels.map((t) => startClient(t)));
  const [internetPid, serverPid] = await Promise.all([internet, server, ...tunnels.map((t) => waitTunnel(t, t.spec.ends.clientIface))]);
  recordPid(dir, 'recorder-internet', internetPid);
  recordPid(dir, 'recorder-server', serverPid);
}

/** Builds a lab: four namespaces, a live WireGuard tunnel (two with `tunnels: 2`), recorders; removed on destroy(), Ctrl-C, SIGTERM or exit. */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const tunnels = opts.tunnels ?? 1;
  if (tunnels !== 1 && tunnels !== 2) throw new LabError(`a lab has 1 or 2 tunnels, not ${String(tunnels)}`, 'pass tunnels: 1 or 2');
  await removeLeftoverLabs(); // a crashed run's lab is removed by the next one (live labs are left alone)
  const { suffix, dir } = claim(opts.suffix);
  registerLab(suffix);
  const plan = planFor(suffix, opts.mode ?? 'app-only', tunnels);
  try {
    await buildNetwork(plan);
    const states = await Promise.all(tunnelSpecs(plan).map((spec) => tunnelState(plan, dir, spec)));
    await startServices(states);
    return labHandle(states);
  } catch (error) {
    await teardown(suffix);
    unregisterLab(suffix);
    throw error instanceof LabError ? error : new LabError(`could not build lab ${suffix}: ${error instanceof Error ? error.message : String(error)}`, 'run `ksapp doctor`; lab logs were removed with it', error);
  }
}

function labHandle(tunnels: readonly TunnelState[]): Lab {
  const [s, s2] = tunnels as [TunnelState, TunnelState?];
  const p = s.plan;
  const nsName = (ns: string) => (p.ns as Record<string, string>)[ns] ?? ns;
  const server = () => readRecords(join(s.dir, 'server.jsonl'));
  let destroyed: Promise<void> | undefined;
  const a = p.addr;
  const exit2 = a.vpnPublic4b && a.vpnPublic6b ? { vpnPublic4b: a.vpnPublic4b, vpnPublic6b: a.vpnPublic6b } : {};
  const isExit2 = (src: string) => src === a.vpnPublic4b || src === a.vpnPublic6b;
  return {
    suffix: p.suffix,
    mode: p.mode,
    ns: p.ns,
    tunnel: p.tunnel,
    ...(p.tunnel2 ? { tunnel2: p.tunnel2 } : {}),
    addr: { client4: a.client4, client6: a.client6, vpnPublic4: a.vpnPublic4, vpnPublic6: a.vpnPublic6, internet4: a.internet4, internet6: a.internet6, ...exit2 },
    dir: s.dir,
    nsenterArgs: (ns) => nsenterArgs(nsName(ns)),
    exec: (ns, argv) => execIn(nsName(ns), argv),
    received: () => readRecords(join(s.dir, 'internet.jsonl')),
    serverReceived: server,
    tunnelDnsQueries: async () => (await server()).filter((r) => r.proto === 'dns'),
    // Written whole, then renamed: the resolver reads it for every query.
    serveNames: async (zone) => {
      const file = join(s.dir, ZONE_FILE);
      await writeFile(`${file}.new`, JSON.stringify(zone));
      await rename(`${file}.new`, file);
    },
    origin: (src) => (src === a.vpnPublic4 || src === a.vpnPublic6 ? 'tunnel' : isExit2(src) ? 'tunnel2' : src === a.client4 || src === a.client6 ? 'client' : 'other'),
    faults: faultsFor(s),
    ...(s2 ? { faults2: tunnelFaults(s2) } : {}),
    destroy() {
      destroyed ??= teardown(p.suffix).then(() => unregisterLab(p.suffix));
      return destroyed;
    },
  };
}
