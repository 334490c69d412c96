import { splitAllow } from '../config/allow.js';
import { findMatching, readStatus, watchExecs, type ExecWatcher, type MatchRule } from '../adopt/index.js';
import type { AppConfig } from '../config/index.js';
import type { Supervisor } from '../supervisor/index.js';
import { adoptInto, protectedPids } from './protect.js';
import { containerGuard, ExecGuarding, unitGuard, type RuleGuard } from './exec-guarding.js';

/** How often /proc is scanned for new instances where kernel exec events are unavailable; the README gives the windows. */
export const EXEC_POLL_MS = 100;

/**
 * Adopts the processes config rules (`match: {exe, name, user}`) describe:
 * those running when the rule appears, and every new instance, into the
 * app's group. A rule naming an exe is guarded at exec: a new instance is in
 * a confined group before its first instruction (see ExecGuarding). Other
 * rules, and exe rules the guard cannot hold, rely on the exec watcher: until
 * such an instance is adopted it runs unprotected, and that window is
 * measured and recorded with each adoption. The watcher also backs up the
 * guard (a file replaced a moment before it is run).
 */
export class AutoAdopter {
  private readonly watchers = new Map<string, { key: string; watcher: ExecWatcher }>();
  private queue: Promise<unknown> = Promise.resolve();
  private pollNoted = false;
  private guarding: ExecGuarding | undefined;
  private guardProblem = 'the exec guard is not armed';
  private apps: readonly AppConfig[] = [];

  constructor(private readonly sup: Supervisor, private readonly root: string) {}

  /** Opens the exec guard; where the kernel or the build refuses, says so once and goes on without it. */
  async armGuard(): Promise<void> {
    const opened = await ExecGuarding.open(this.sup, this.root, (app, pid, from, heardAt) => void this.adopt(app, [pid], 'confined at exec, before its first instruction', { from, heardAt }),
      (detail, app) => this.sup.record({ type: 'exec-guard', ...(app ? { app } : {}), detail }));
    if (typeof opened === 'string') {
      this.guardProblem = opened;
      this.sup.record({ type: 'exec-guard', detail: `rules are not guarded at exec (${opened}): new instances run unprotected until adopted` });
    } else this.guarding = opened;
  }

  /** How each config rule is guarded now (for status and doctor). */
  ruleGuards(): RuleGuard[] {
    if (this.guarding) return this.guarding.states(this.apps);
    return this.apps.filter((a) => a.match).map((a) => (a.match!.unit !== undefined ? unitGuard(a) : a.match!.container !== undefined ? containerGuard(a)
      : { app: a.name, guard: 'after-start', why: this.guardProblem }));
  }

  /** Follows the rules of a (re)loaded config: new rules start, removed rules stop. */
  async sync(apps: readonly AppConfig[]): Promise<void> {
    this.apps = apps;
    if (this.guarding) {
      await this.guarding.set(apps);
      for (const r of this.guarding.states(apps)) {
        if (r.guard === 'after-start') this.sup.record({ type: 'exec-guard', app: r.app, detail: `not guarded at exec: ${r.why ?? 'unknown'}; new instances run unprotected until adopted (the window is logged with each adoption)` });
      }
    }
    // A unit rule is its unit's business: its drop-in's ExecStartPre protects the group before the unit runs.
    // A container rule is followed through its runtime (container-adopt.ts).
    const wanted = new Map(apps.filter((a) => a.match && a.match.unit === undefined && a.match.container === undefined).map((a) => [a.name, a] as const));
    for (const [name, w] of this.watchers) {
      if (wanted.get(name) && JSON.stringify(wanted.get(name)!.match) === w.key) continue;
      w.watcher.close();
      this.watchers.delete(name);
    }
    for (const app of wanted.values()) {
      if (this.watchers.has(app.name)) continue;
      const rule = app.match as MatchRule;
      try {
        const watcher = await watchExecs(rule, { intervalMs: EXEC_POLL_MS });
        if (watcher.pollReason !== undefined && !this.pollNoted) {
          this.pollNoted = true;
          this.sup.record({ type: 'exec-watch', detail: `new instances are found by scanning /proc every ${EXEC_POLL_MS} ms, not by kernel exec events: ${watcher.pollReason}` });
        }
        watcher.on('exec', (e) => void this.adopt(app, [e.proc.pid], `${e.ageMs} ms after it started, seen by ${watcher.source === 'connector' ? 'exec event' : '/proc scan'}`));
        watcher.on('error', (e) => this.sup.record({ type: 'exec-watch', app: app.name, detail: e.message }));
        this.watchers.set(app.name, { key: JSON.stringify(app.match), watcher });
        const running = await findMatching(rule, { exclude: await protectedPids(this.sup) });
        if (running.length > 0) await this.adopt(app, running.map((p) => p.pid), 'already running');
      } catch (error) {
        this.sup.record({ type: 'error', app: app.name, detail: `config rule: ${(error as Error).message}` });
      }
    }
  }

  /** Stops every watcher and the guard. */
  stop(): void {
    for (const w of this.watchers.values()) w.watcher.close();
    this.watchers.clear();
    this.guarding?.close();
    this.guarding = undefined;
  }

  /** Adopts into the app's group; `staged` says the guard confined the process at exec, and where it came from. */
  private adopt(app: AppConfig, pids: number[], when: string, staged?: { from: string; heardAt: bigint }): Promise<unknown> {
    this.queue = this.queue.then(async () => {
      const started = Date.now();
      try {
        // A protected app that execs a matching program (a launcher script, a restart) is already confined.
        const confined = new Set(await protectedPids(this.sup));
        pids = pids.filter((pid) => !confined.has(pid));
        if (pids.length === 0) return;
        const existing = this.sup.apps.get(app.name);
        const owner = (await readStatus(pids[0]!))?.uid ?? 0;
        const target = existing ?? (await this.sup.addApp({
          name: app.name, onDrop: app.onDrop, allowLan: app.allowLan, restart: false, uid: owner, origin: 'config',
          ...(app.tunnel ? { tunnels: app.tunnel } : {}), failback: app.failback, ...(app.allow?.length ? { allow: splitAllow(app.allow) } : {}),
        }));
        // Release puts a process back where it was before the guard staged it, not into staging.
        await adoptInto(this.sup, this.root, target, pids, !existing, ` (pid ${pids.join(',')} ${when}; adopted in ${Date.now() - started} ms)`, undefined, staged?.from);
      } catch (error) {
        // A short-lived instance the guard staged ran its whole life confined: nothing to report.
        if (staged && (error as { code?: string }).code === 'ADOPT_ALL_GONE') return;
        this.sup.record({ type: 'error', app: app.name, detail: `adoption failed: ${(error as Error).message}` });
      }
    });
    return this.queue;
  }
}
