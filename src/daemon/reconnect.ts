// Re-establishing a tunnel while the kill switch holds: a tunnel's configured `reconnect` command
// (an argv, never a shell) runs once the tunnel has been down for `every`, then again after `every`, doubling up to a cap,
// each attempt killed after `timeout`; what it said goes to the event log. Apps are thawed only by
// the tunnel proving healthy again, never by the command's exit status.
import type { ReconnectConfig } from '../config/index.js';
import { describeEnd, startProgram, type RunResult, type Started } from '../spawn.js';
import type { SupervisorEvent } from '../supervisor/index.js';

/** The longest wait between two attempts, however often the tunnel stays down. */
const MAX_BACKOFF_MS = 5 * 60_000;
/** How much of an attempt's output the log keeps. */
const OUTPUT_TAIL = 400;

/** The wait before attempt `n` (1-based) after the first: `every`, doubled each time, capped (pure). */
export function backoffMs(every: number, attempt: number): number {
  return Math.min(every * 2 ** Math.max(0, attempt - 1), Math.max(every, MAX_BACKOFF_MS));
}

/** One attempt's outcome, in the words of the event log (pure). */
export function describeAttempt(argv: readonly string[], attempt: number, r: RunResult, timeoutMs: number): string {
  return `attempt ${attempt}: ${argv.join(' ')} ${describeEnd(r, timeoutMs, OUTPUT_TAIL)}`;
}

interface Running { attempt: number; timer?: NodeJS.Timeout; child?: Started; stopped: boolean }

/**
 * Runs each tunnel's reconnect command while that tunnel is down. Fed the
 * supervisor's events; one loop per tunnel, ended by the tunnel's `up`.
 */
export class Reconnector {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly commands: ReadonlyMap<string, ReconnectConfig>,
    private readonly record: (event: Omit<SupervisorEvent, 'at'>) => void,
  ) {}

  /** Takes a supervisor event: a tunnel down starts its loop, up ends it. */
  heard(event: SupervisorEvent): void {
    if (event.tunnel === undefined) return;
    if (event.type === 'tunnel-down') this.begin(event.tunnel);
    else if (event.type === 'tunnel-up') this.end(event.tunnel);
  }

  /** Ends every loop and kills any attempt still running. */
  stop(): void {
    for (const iface of [...this.running.keys()]) this.end(iface);
  }

  private begin(iface: string): void {
    const config = this.commands.get(iface);
    if (!config || this.running.has(iface)) return;
    const run: Running = { attempt: 0, stopped: false };
    this.running.set(iface, run);
    // The first attempt after `every`, not at once: a blip heals by itself, and a flapping tunnel is not cycled on each flap.
    run.timer = setTimeout(() => void this.attempt(iface, config, run), config.every);
  }

  private end(iface: string): void {
    const run = this.running.get(iface);
    if (!run) return;
    run.stopped = true;
    clearTimeout(run.timer);
    run.child?.kill('SIGKILL');
    this.running.delete(iface);
  }

  private async attempt(iface: string, config: ReconnectConfig, run: Running): Promise<void> {
    if (run.stopped) return;
    run.attempt++;
    const [file, ...args] = config.command;
    run.child = startProgram(file!, args, { timeoutMs: config.timeout, stderr: 'collect', keepLast: 4 * OUTPUT_TAIL });
    const result = await run.child.result;
    run.child = undefined;
    if (run.stopped) return;
    const wait = backoffMs(config.every, run.attempt);
    this.record({ type: 'tunnel-reconnect', tunnel: iface, detail: `${describeAttempt(config.command, run.attempt, result, config.timeout)}; next in ${Math.round(wait / 1000)} s unless the tunnel is back` });
    run.timer = setTimeout(() => void this.attempt(iface, config, run), wait);
  }
}
