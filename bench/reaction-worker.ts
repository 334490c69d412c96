// Runs ksapp's own Supervisor and TunnelMonitor (the code the daemon runs) inside a bench
// or lab namespace, over app groups the orchestrator already filled (taken over as a
// restarted daemon takes over live groups), and prints every supervisor event as a JSON
// line on stdout. Started through nsenter by worker.ts; ends on SIGTERM or when its stdin closes.
import { DEFAULT_LAN } from '../src/firewall/index.js';
import { TunnelMonitor } from '../src/monitor/index.js';
import { Supervisor, type SavedApp, type SupervisorEvent } from '../src/supervisor/index.js';

/** What the orchestrator passes as the only argument (JSON). */
export interface WorkerSpec {
  readonly iface: string;
  readonly cgroupRoot: string;
  /** Parent group relative to the mount. */
  readonly parent: string;
  readonly apps: ReadonlyArray<{ name: string; onDrop: 'freeze' | 'kill' | 'block'; restart: boolean }>;
  /** Resolvers inside the tunnel (default 10.77.0.1, the bench tun's subnet). */
  readonly dns?: readonly string[];
  /**
   * Hold-down before `up`. The daemon's defaults (250 ms, doubled per flap within 10 s)
   * would space trials 10 s apart; the down path, which is what is timed, does not use it.
   */
  readonly holdMs: number;
  readonly stableMs: number;
}

const out = (line: object): void => { process.stdout.write(`${JSON.stringify(line)}\n`); };

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as WorkerSpec;
  const monitor = new TunnelMonitor({ iface: spec.iface, handshakeTimeoutMs: 180_000, holdMs: spec.holdMs, stableMs: spec.stableMs });
  const sup = new Supervisor({
    tunnelIface: spec.iface, cgroupRoot: spec.cgroupRoot, cgroupParent: spec.parent, monitor,
    dns: { v4: (spec.dns ?? ['10.77.0.1']).filter((a) => !a.includes(':')), v6: (spec.dns ?? []).filter((a) => a.includes(':')) }, lan: { v4: [...DEFAULT_LAN.v4], v6: [...DEFAULT_LAN.v6] },
  });
  sup.on('event', (e: SupervisorEvent) => out({ kind: 'event', ...e }));
  monitor.on('warning', (e: unknown) => out({ kind: 'warning', detail: String(e) }));
  const saved: SavedApp[] = spec.apps.map((a, i) => ({
    name: a.name, id: i + 1, onDrop: a.onDrop, allowLan: false, restart: a.restart, uid: 0, origin: 'run', addedAt: Date.now(), manualFreeze: false,
  }));
  await sup.start(saved);
  out({ kind: 'ready', apps: sup.apps.size });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await sup.stop().catch((e: unknown) => out({ kind: 'warning', detail: String(e) }));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
}

main().catch((error: unknown) => {
  out({ kind: 'fatal', detail: error instanceof Error ? `${error.message}${(error as { hint?: string }).hint ? ` (${(error as { hint?: string }).hint})` : ''}` : String(error) });
  process.exit(1);
});
