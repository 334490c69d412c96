import type { Status } from '../ipc/protocol.js';
import type { TunnelMonitor } from '../monitor/index.js';
import type { Supervisor } from '../supervisor/index.js';
import type { EventLog } from './event-log.js';
import { buildStatus } from './status.js';

/** Gathers pids, kernel counters and monitor figures, then builds the status. */
export async function collectStatus(
  sup: Supervisor, monitor: TunnelMonitor, iface: string, log: EventLog,
  extra: { daemon: Status['daemon']; config: Status['config']; rules?: Status['rules'] },
): Promise<Status> {
  const apps = [...sup.apps.values()];
  const pids = new Map(await Promise.all(apps.map(async (a) => [a.name, await a.cgroup.allPids().catch(() => [])] as const)));
  const counters = await sup.counters().catch(() => new Map());
  const snap = monitor.snapshot();
  return buildStatus({
    apps, pids, counters, tunnel: { iface, ...sup.tunnel }, lastReactionMs: log.lastReactionMs(),
    monitor: { handshakeAgeMs: snap.handshakeAgeMs, probeRttMs: snap.probeRttMs },
    events: log.latest(50), ...extra,
  });
}
