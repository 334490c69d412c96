// Event hooks (config `hooks:`): for chosen event types, a program (an argv, never a shell) runs as a
// named user with the event as one JSON object on its stdin and in KSAPP_EVENT_* variables, killed after
// its time limit, its outcome in the event log. Hooks never run inside the supervisor's step: they are
// queued and started once the step is over, a few at a time, so a hook that hangs, fails or floods never
// delays a freeze; what does not fit in the queue is dropped and said so.
import type { HookConfig } from '../config/index.js';
import type { EventRecord } from '../ipc/protocol.js';
import { requireCommand } from '../launch/index.js';
import { describeEnd, startProgram, type RunResult } from '../spawn.js';
import type { SupervisorEvent } from '../supervisor/index.js';
import { findAccount } from '../users.js';

/** Hooks running at once, at most; the rest wait. */
const MAX_RUNNING = 4;
/** Hook runs waiting, at most; past it a run is dropped (and the drop logged, once per burst). */
const MAX_QUEUED = 64;
/** How much of a hook's output the log keeps. */
const OUTPUT_TAIL = 300;

/** A hook ready to run: its program resolved, its user's ids known. */
export interface ReadyHook {
  /** `hooks[N]`, for the log. */
  readonly label: string;
  readonly on: ReadonlySet<string>;
  readonly argv: readonly string[];
  readonly uid: number;
  readonly gid: number;
  readonly timeout: number;
}

/** The hooks that can run, and for each that cannot, a message naming its field and the fix. */
export function readyHooks(hooks: readonly HookConfig[], pathVar = process.env.PATH): { ready: ReadyHook[]; problems: string[] } {
  const ready: ReadyHook[] = [];
  const problems: string[] = [];
  hooks.forEach((h, i) => {
    const label = `hooks[${i}]`;
    const account = findAccount(h.user);
    if (!account) {
      problems.push(`${label}.user: user "${h.user}" does not exist (the hook does not run; name an existing user or a numeric uid)`);
      return;
    }
    let program: string;
    try {
      program = requireCommand(h.run[0]!, pathVar);
    } catch (error) {
      problems.push(`${label}.run[0]: ${(error as Error).message} (the hook does not run; give the program's absolute path)`);
      return;
    }
    ready.push({ label, on: new Set(h.on), argv: [program, ...h.run.slice(1)], uid: account.uid, gid: account.gid, timeout: h.timeout });
  });
  return { ready, problems };
}

/** The variables a hook gets for an event (pure). */
export function hookEnv(event: EventRecord): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C',
    KSAPP_EVENT: JSON.stringify(event), KSAPP_EVENT_TYPE: event.type, KSAPP_EVENT_AT: event.at,
    KSAPP_EVENT_APP: event.app ?? '', KSAPP_EVENT_TUNNEL: event.tunnel ?? '', KSAPP_EVENT_DETAIL: event.detail ?? '',
  };
}

/** A hook run's outcome in the log's words (pure). */
export function describeRun(hook: ReadyHook, event: EventRecord, r: RunResult): { ok: boolean; detail: string } {
  const ok = r.exitCode === 0 && !r.timedOut;
  return { ok, detail: `${hook.label} (${hook.argv.join(' ')}) for ${event.type}${event.app ? ` of ${event.app}` : ''} ${describeEnd(r, hook.timeout, OUTPUT_TAIL)}` };
}

/** Runs the hooks for the daemon's events, off the supervisor's path. */
export class HookRunner {
  private readonly queue: Array<{ hook: ReadyHook; event: EventRecord }> = [];
  private running = 0;
  private dropping = false;
  private stopped = false;
  private readonly children = new Map<() => void, Promise<unknown>>();

  /** `idle` resolves once the supervisor has no step under way: a hook is started only then (starting one forks the daemon). */
  constructor(
    private readonly hooks: readonly ReadyHook[],
    private readonly record: (event: Omit<SupervisorEvent, 'at'>) => void,
    private readonly idle: () => Promise<void> = async () => undefined,
  ) {}

  /** Takes one logged event: each hook that asked for its type is queued. */
  heard(event: EventRecord): void {
    if (this.stopped) return;
    for (const hook of this.hooks) {
      if (!hook.on.has(event.type)) continue;
      if (this.queue.length >= MAX_QUEUED) {
        if (!this.dropping) this.record({ type: 'hook', detail: `${MAX_QUEUED} hook runs are waiting: ${hook.label} for ${event.type} and others after it are dropped until the queue drains` });
        this.dropping = true;
        continue;
      }
      this.queue.push({ hook, event });
    }
    // Never in the caller's turn: the caller may be the supervisor in the middle of a step.
    if (this.queue.length > 0) setImmediate(() => this.drain());
  }

  /** Stops taking events, kills the hooks still running, and resolves once they are gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const kill of this.children.keys()) kill();
    await Promise.all(this.children.values());
  }

  private drain(): void {
    while (!this.stopped && this.running < MAX_RUNNING && this.queue.length > 0) {
      const { hook, event } = this.queue.shift()!;
      this.running++;
      void this.run(hook, event).finally(() => {
        this.running--;
        if (this.queue.length === 0) this.dropping = false;
        this.drain();
      });
    }
  }

  private async run(hook: ReadyHook, event: EventRecord): Promise<void> {
    await this.idle();
    if (this.stopped) return;
    const [file, ...args] = hook.argv;
    const child = startProgram(file!, args, {
      input: `${JSON.stringify(event)}\n`, timeoutMs: hook.timeout, stderr: 'collect',
      env: hookEnv(event), uid: hook.uid, gid: hook.gid, keepLast: 4 * OUTPUT_TAIL,
    });
    const kill = (): void => child.kill('SIGKILL');
    this.children.set(kill, child.result);
    const result = await child.result;
    this.children.delete(kill);
    if (this.stopped) return;
    const { ok, detail } = describeRun(hook, event, result);
    this.record({ type: 'hook', detail: ok ? detail : `failed: ${detail}` });
  }
}
