import type { Status } from '../ipc/protocol.js';
import { healthCoverage, type TunnelMonitor } from '../monitor/index.js';
import type { Supervisor } from '../supervisor/index.js';
import type { EventLog } from './event-log.js';
import { buildStatus, type MonitorFigures } from './status.js';

/** Gathers pids, kernel counters and monitor figures, then builds the status. */
export async function collectStatus(
  sup: Supervisor, monitors: ReadonlyMap<string, TunnelMonitor>, iface: string, log: EventLog,
  extra: { daemon: Status['daemon']; config: Status['config']; rules?: Status['rules'] },
): Promise<Status> {
  const apps = [...sup.apps.values()];
  const pids = new Map(await Promise.all(apps.map(async (a) => [a.name, await a.cgroup.allPids().catch(() => [])] as const)));
  const counters = await sup.counters().catch(() => new Map());
  const figures = new Map<string, MonitorFigures>([...monitors].map(([name, m]) => {
    const snap = m.snapshot();
    const coverage = healthCoverage(name, snap.kind, Object.keys(snap.sources));
    return [name, { handshakeAgeMs: snap.handshakeAgeMs, probeRttMs: snap.probeRttMs, kind: snap.kind, ...coverage }];
  }));
  const reactions = new Map([...sup.tunnels.keys()].flatMap((t) => {
    const ms = log.lastReactionMs(t);
    return ms === null ? [] : [[t, ms] as const];
  }));
  return buildStatus({
    apps, pids, counters, tunnel: { iface, ...sup.tunnel }, lastReactionMs: log.lastReactionMs(iface),
    monitor: figures.get(iface), tunnels: sup.tunnels, figures, reactions, ...(sup.allow ? { allow: sup.allow } : {}), resolved: sup.resolved,
    events: log.latest(50), ...extra,
  });
}
