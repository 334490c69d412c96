// The shape of bench/results.json: one object per section, null when it did not run.
import type { BenchOptions } from './args.js';
import type { DaemonResult } from './daemon-bare.js';
import type { ExecGuardResult } from './exec-guard.js';
import type { FailoverResult } from './failover.js';
import type { FloodResult } from './flood.js';
import type { Machine } from './machine.js';
import type { LatencyFigure, ThroughputResult } from './overhead.js';
import type { ReactionResult } from './reaction.js';
import type { ScaleResult } from './scale.js';
import type { SilentResult } from './silent.js';
import type { StartupResult } from './startup.js';
import type { StressResult } from './stress.js';

/** What was measured for the reaction figures, said in the output. */
export const REACTION_METHOD =
  'a tun device (held open by socat) in a bare namespace is the tunnel; `ip link del` through a running `ip -batch` is the fault; ' +
  "ksapp = the Supervisor's reactionMs (netlink event read → every cgroup frozen/killed) with the TunnelMonitor the daemon uses " +
  '(hold-down 0 so trials need not wait 10 s; the down path does not use it); outside = fault written → cgroup.events changed (inotify); ' +
  'kernel = cgroup.freeze/cgroup.kill written directly → cgroup.events changed (tight re-read). Processes are idle (sleeping).';

/** What was measured for the failover figures, said in the output. */
export const FAILOVER_METHOD =
  'two tun devices (held open by socat) in a bare namespace are the tunnels of one `ksapp daemon` (holdDown 1 ms, so trials need not wait; the down path does not use it); ' +
  'app "lone" rides the first, app "move" has the order first,second; `ip link del` of the first through a running `ip -batch` is the fault; ' +
  'reaction = fault → lone frozen (inotify), gap = fault → move thawed on the second tunnel, frozen = move frozen → thawed ' +
  '(inotify, and a 1 ms re-read while frozen: the kernel notifies at most every 20 ms); ksapp = the daemon\'s reactionMs from its event log.';

/** Everything one run produced. */
export interface BenchResults {
  machine: Machine;
  options: BenchOptions;
  reaction: { method: string; configs: ReactionResult[] } | null;
  scale: ScaleResult | null;
  exec: ExecGuardResult | null;
  daemon: DaemonResult | null;
  failover: FailoverResult | null;
  flood: FloodResult | null;
  startup: StartupResult | null;
  overhead: { throughput: ThroughputResult | null; latency: LatencyFigure[]; error?: string } | null;
  silent: SilentResult | null;
  stress: StressResult | null;
  /** Wall time of each section, s. */
  seconds: Record<string, number>;
  errors: Record<string, string>;
  goals: Array<{ goal: string; measured: string; met: boolean | null }>;
}

/** An empty result for this run. */
export function emptyResults(machine: Machine, options: BenchOptions): BenchResults {
  return { machine, options, reaction: null, scale: null, exec: null, daemon: null, failover: null, flood: null, startup: null, overhead: null, silent: null, stress: null, seconds: {}, errors: {}, goals: [] };
}
