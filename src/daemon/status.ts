import { allowEntries, type Allowlist } from '../config/allow.js';
import type { AppStatus, EventRecord, Status, TunnelStatus } from '../ipc/protocol.js';
import type { App, ResolvedName, TunnelState } from '../supervisor/index.js';
import { userName } from '../users.js';

/** A monitor's figures for one tunnel, and what watches it. */
export interface MonitorFigures {
  handshakeAgeMs: number | null;
  probeRttMs: number | null;
  kind?: string | null;
  sources?: readonly string[];
  advice?: string;
}

/** Everything a status is made of, gathered by the daemon. */
export interface StatusInputs {
  readonly apps: readonly App[];
  readonly pids: ReadonlyMap<string, readonly number[]>;
  readonly counters: ReadonlyMap<string, { tunnel: number; tunnelBytes: number; dropped: number }>;
  /** The primary tunnel. */
  readonly tunnel: { iface: string; state: 'up' | 'down' | 'unknown'; since: number; reason: string };
  readonly monitor: MonitorFigures | undefined;
  /** Every watched tunnel (the primary too), and each one's monitor figures. */
  readonly tunnels?: ReadonlyMap<string, TunnelState>;
  readonly figures?: ReadonlyMap<string, MonitorFigures>;
  /** Per tunnel, its last reaction; the primary's is `lastReactionMs`. */
  readonly reactions?: ReadonlyMap<string, number>;
  readonly lastReactionMs: number | null;
  /** Ranges and names every app may reach directly (config `allow`). */
  readonly allow?: Allowlist;
  /** What allowlisted names resolve to, and the time their addresses are measured against. */
  readonly resolved?: ReadonlyMap<string, ResolvedName>;
  readonly now?: number;
  readonly events: readonly EventRecord[];
  readonly daemon: Status['daemon'];
  readonly config: Status['config'];
  readonly rules?: Status['rules'];
}

function tunnelStatus(iface: string, t: { state: string; since: number; reason: string }, figures: MonitorFigures | undefined, reaction: number | null): TunnelStatus {
  return {
    interface: iface, state: t.state === 'up' ? 'up' : 'down', since: new Date(t.since).toISOString(), reason: t.reason,
    handshakeAgeMs: figures?.handshakeAgeMs ?? null, probeRttMs: figures?.probeRttMs ?? null, lastReactionMs: reaction,
    ...(figures?.sources ? { kind: figures.kind ?? null, sources: figures.sources } : {}), ...(figures?.advice ? { advice: figures.advice } : {}),
  };
}

/**
 * What an app may reach directly (pure): the entries of the config's allowlist
 * and its own, and what their names resolve to now; nothing when empty.
 */
function directOf(a: App, i: StatusInputs): Pick<AppStatus, 'allow' | 'allowNames'> {
  const entries = [...new Set([...allowEntries(i.allow), ...allowEntries(a.allow)])];
  if (!entries.length) return {};
  const now = i.now ?? Date.now();
  const names = [...new Set([...(i.allow?.names ?? []), ...(a.allow?.names ?? [])])].map((name) => {
    const r = i.resolved?.get(name);
    const live = [...(r?.v4 ?? []), ...(r?.v6 ?? [])].filter((x) => x.expiresAt > now);
    return { name, addresses: live.map((x) => ({ address: x.addr, expiresAt: new Date(x.expiresAt).toISOString() })) };
  });
  return { allow: entries, ...(names.length ? { allowNames: names } : {}) };
}

/** What an app is, for people (pure): LAN hosts are named by address or MAC, an interface by itself. */
function kindOf(a: App): NonNullable<AppStatus['kind']> {
  if (a.container) return 'container';
  const f = a.forwarded?.[0];
  if (!f) return 'process';
  return f.v4.length || f.v6.length || f.macs?.length ? 'lan' : 'interface';
}

/** Builds the status object `ksapp status --json` prints (pure apart from the user-name lookup). */
export function buildStatus(i: StatusInputs): Status {
  const tunnel = tunnelStatus(i.tunnel.iface, i.tunnel, i.monitor, i.lastReactionMs);
  const several = (i.tunnels?.size ?? 1) > 1;
  const apps: AppStatus[] = i.apps.map((a) => {
    const c = i.counters.get(a.name);
    return {
      name: a.name, state: a.state, policy: a.onDrop, pids: [...(i.pids.get(a.name) ?? [])], cgroup: a.cgroup.path,
      packets: { tunnel: c?.tunnel ?? 0, dropped: c?.dropped ?? 0 }, bytes: { tunnel: c?.tunnelBytes ?? 0 },
      uid: a.uid, user: userName(a.uid), allowLan: a.allowLan, restart: a.restart, origin: a.origin,
      since: new Date(a.addedAt).toISOString(), tunnel: a.rides, tunnels: [...a.tunnels], ...directOf(a, i),
      kind: kindOf(a), ...(a.container ? { container: a.container } : {}), ...(a.forwarded?.length ? { forwarded: a.forwarded } : {}),
    };
  });
  // With one tunnel, `tunnel` says it all; with several, each one with the apps riding it.
  const tunnels = several && i.tunnels
    ? [...i.tunnels].sort(([, x], [, y]) => x.slot - y.slot).map(([iface, t]) => ({
      ...(iface === i.tunnel.iface ? tunnel : tunnelStatus(iface, t, i.figures?.get(iface), i.reactions?.get(iface) ?? null)),
      apps: i.apps.filter((a) => a.rides === iface).map((a) => a.name), ...(t.via ? { via: t.via } : {}),
    }))
    : undefined;
  return { tunnel, ...(tunnels ? { tunnels } : {}), apps, daemon: i.daemon, config: i.config, events: i.events, ...(i.rules ? { rules: i.rules } : {}) };
}
