import { findMatching, readStatus, watchExecs, type Adoption, type ExecWatcher, type MatchRule } from '../adopt/index.js';
import type { AppConfig } from '../config/index.js';
import type { Supervisor } from '../supervisor/index.js';
import { adoptInto, protectedPids } from './protect.js';

/** How often /proc is scanned for new instances where kernel exec events are unavailable; the README gives the windows. */
export const EXEC_POLL_MS = 100;

/**
 * Adopts the processes config rules (`match: {exe, name, user}`) describe:
 * those running when the rule appears, and every new instance the exec
 * watcher sees, into the app's group. Until a new instance is adopted it runs
 * unprotected: that window is measured and recorded with each adoption.
 */
export class AutoAdopter {
  private readonly watchers = new Map<string, { key: string; watcher: ExecWatcher }>();
  private queue: Promise<unknown> = Promise.resolve();
  private pollNoted = false;

  constructor(private readonly sup: Supervisor, private readonly root: string, private readonly adoptions: Map<string, Adoption>) {}

  /** Follows the rules of a (re)loaded config: new rules start, removed rules stop. */
  async sync(apps: readonly AppConfig[]): Promise<void> {
    const wanted = new Map(apps.filter((a) => a.match).map((a) => [a.name, a] as const));
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

  /** Stops every watcher. */
  stop(): void {
    for (const w of this.watchers.values()) w.watcher.close();
    this.watchers.clear();
  }

  private adopt(app: AppConfig, pids: number[], when: string): Promise<unknown> {
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
        }));
        await adoptInto(this.sup, this.root, target, pids, this.adoptions, !existing, ` (pid ${pids.join(',')} ${when}; adopted in ${Date.now() - started} ms)`);
      } catch (error) {
        this.sup.record({ type: 'error', app: app.name, detail: `adoption failed: ${(error as Error).message}` });
      }
    });
    return this.queue;
  }
}
