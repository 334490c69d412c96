// Notices new processes that match an app rule, so the daemon can adopt them.
//
// The kernel's process-events connector (NETLINK_CONNECTOR, PROC_EVENT_EXEC) would report each exec
// at once, but Node cannot open that netlink socket without native code. This is the polling
// fallback: every intervalMs list /proc and look closer only at pids not seen before. A process
// found by a fork is rechecked for recheckMs, because a launcher forks first and execs the app a
// moment later; a process that execs the app later than that is missed (the connector would not).
// Until detection plus adoption, the new process runs unconfined: `ksapp run` and
// `ksapp install-launcher` have no such window.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { resolveRule } from './find.js';
import { matches, type MatchRule, type ProcInfo } from './match.js';
import { isKernelThread, listPids, readExe, readStat, readStatus } from './proc.js';

/** A new process that matches the rule. */
export interface ExecEvent {
  proc: ProcInfo;
  /** When the watcher saw it (Date.now()). */
  detectedAt: number;
  /** Milliseconds from the process's start (fork, 10 ms resolution) to its detection. */
  ageMs: number;
}

/** Something that reports new processes matching a rule. */
export interface ExecWatcher {
  /** A new matching process was seen (once per process). */
  on(event: 'exec', listener: (event: ExecEvent) => void): this;
  /** A scan failed; watching goes on. Without a listener the error is dropped, never thrown. */
  on(event: 'error', listener: (error: Error) => void): this;
  /** Stops watching. */
  close(): void;
}

/** Options of watchExecs. */
export interface PollOptions {
  /** Time between scans of /proc (default 250 ms). */
  intervalMs?: number;
  /** How long a newly seen, non-matching process is rechecked for a late exec (default 1000 ms). */
  recheckMs?: number;
  /** The daemon's pid, never reported (default: this process). */
  self?: number;
  procRoot?: string;
  passwdFile?: string;
}

/** Kernel clock ticks per second (USER_HZ), which /proc/PID/stat's start time counts. */
const USER_HZ = 100;

interface Seen { firstSeen: number; done: boolean }

class PollingExecWatcher extends EventEmitter<{ exec: [ExecEvent]; error: [Error] }> implements ExecWatcher {
  private readonly known = new Map<number, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly rule: MatchRule, private readonly options: Required<Pick<PollOptions, 'intervalMs' | 'recheckMs' | 'self' | 'procRoot'>>) {
    super();
  }

  /** The first scan only records what already runs: those processes are found by find.ts, not reported here. */
  async start(): Promise<void> {
    const now = Date.now();
    for (const pid of await listPids(this.options.procRoot)) this.known.set(pid, { firstSeen: now, done: true });
    this.schedule();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.scan().then(() => this.schedule(), (error: unknown) => {
        // An unheard 'error' event would throw and take the daemon down over one failed scan.
        if (this.listenerCount('error') > 0) this.emit('error', error as Error);
        this.schedule();
      });
    }, this.options.intervalMs);
  }

  private async scan(): Promise<void> {
    const now = Date.now();
    const present = new Set(await listPids(this.options.procRoot));
    for (const pid of this.known.keys()) if (!present.has(pid)) this.known.delete(pid);
    for (const pid of present) {
      let seen = this.known.get(pid);
      if (seen === undefined) this.known.set(pid, (seen = { firstSeen: now, done: false }));
      if (seen.done || this.closed) continue;
      if (now - seen.firstSeen > this.options.recheckMs) seen.done = true;
      const event = await this.check(pid);
      if (event !== undefined) {
        seen.done = true;
        this.emit('exec', event);
      }
    }
  }

  private async check(pid: number): Promise<ExecEvent | undefined> {
    if (pid === this.options.self || pid === 1) return undefined;
    const { procRoot } = this.options;
    const exe = await readExe(pid, procRoot);
    const stat = await readStat(pid, procRoot);
    if (stat === undefined || stat.state === 'Z' || isKernelThread(stat)) return undefined;
    const uid = this.rule.user === undefined ? undefined : (await readStatus(pid, procRoot))?.uid;
    const proc: ProcInfo = { pid, ppid: stat.ppid, name: stat.comm, uid, exe };
    if (!matches(proc, this.rule)) return undefined;
    const uptime = Number((await readFile(`${procRoot}/uptime`, 'utf8')).split(' ')[0]);
    return { proc, detectedAt: Date.now(), ageMs: Math.max(0, Math.round(uptime * 1000 - (stat.startTicks * 1000) / USER_HZ)) };
  }
}

/** Starts watching for new processes matching `rule` (polling /proc); resolves once processes running now are recorded. */
export async function watchExecs(rule: MatchRule, options: PollOptions = {}): Promise<ExecWatcher> {
  const resolved = await resolveRule(rule, options.passwdFile);
  const watcher = new PollingExecWatcher(resolved, {
    intervalMs: options.intervalMs ?? 250,
    recheckMs: options.recheckMs ?? 1000,
    self: options.self ?? process.pid,
    procRoot: options.procRoot ?? '/proc',
  });
  await watcher.start();
  return watcher;
}
