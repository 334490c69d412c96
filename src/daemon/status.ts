import type { AppStatus, EventRecord, Status, TunnelStatus } from '../ipc/protocol.js';
import type { App } from '../supervisor/index.js';
import { userName } from '../users.js';

/** Everything a status is made of, gathered by the daemon. */
export interface StatusInputs {
  readonly apps: readonly App[];
  readonly pids: ReadonlyMap<string, readonly number[]>;
  readonly counters: ReadonlyMap<string, { tunnel: number; tunnelBytes: number; dropped: number }>;
  readonly tunnel: { iface: string; state: 'up' | 'down' | 'unknown'; since: number; reason: string };
  readonly monitor: { handshakeAgeMs: number | null; probeRttMs: number | null } | undefined;
  readonly lastReactionMs: number | null;
  readonly events: readonly EventRecord[];
  readonly daemon: Status['daemon'];
  readonly config: Status['config'];
  readonly rules?: Status['rules'];
}

/** Builds the status object `ksapp status --json` prints (pure apart from the user-name lookup). */
export function buildStatus(i: StatusInputs): Status {
  const tunnel: TunnelStatus = {
    interface: i.tunnel.iface,
    state: i.tunnel.state === 'up' ? 'up' : 'down',
    since: new Date(i.tunnel.since).toISOString(),
    reason: i.tunnel.reason,
    handshakeAgeMs: i.monitor?.handshakeAgeMs ?? null,
    probeRttMs: i.monitor?.probeRttMs ?? null,
    lastReactionMs: i.lastReactionMs,
  };
  const apps: AppStatus[] = i.apps.map((a) => {
    const c = i.counters.get(a.name);
    return {
      name: a.name, state: a.state, policy: a.onDrop, pids: [...(i.pids.get(a.name) ?? [])], cgroup: a.cgroup.path,
      packets: { tunnel: c?.tunnel ?? 0, dropped: c?.dropped ?? 0 }, bytes: { tunnel: c?.tunnelBytes ?? 0 },
      uid: a.uid, user: userName(a.uid), allowLan: a.allowLan, restart: a.restart, origin: a.origin,
      since: new Date(a.addedAt).toISOString(),
    };
  });
  return { tunnel, apps, daemon: i.daemon, config: i.config, events: i.events, ...(i.rules ? { rules: i.rules } : {}) };
}
