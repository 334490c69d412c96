// Keeps the exec guard's marks on the configured programs as their files change: a package upgrade
// writes a new inode and renames it over the path, a symlink is pointed elsewhere. The mark follows the
// configured path (watched in its directory and its target's, and re-checked every second).
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ExecGuard, MarkedFile } from './exec-guard.js';

/** How often every path is re-checked, in case a directory event was missed. */
const RECHECK_MS = 1000;

/** The inode a path names now, or undefined (pure decision: does the mark need to move?). */
export function needsRemark(marked: { dev: number; ino: number } | undefined, now: { dev: number; ino: number } | undefined): boolean {
  return now !== undefined && (marked === undefined || marked.dev !== now.dev || marked.ino !== now.ino);
}

interface Entry {
  current: MarkedFile | undefined;
  watchers: FSWatcher[];
  problem: string | undefined;
}

/** The programs the guard holds marks on, by configured path; emits 'remarked' when a mark moved and 'problem' when one cannot be held. */
export class GuardedPrograms extends EventEmitter<{ remarked: [string, MarkedFile]; problem: [string, string] }> {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly guard: ExecGuard) {
    super();
    this.timer = setInterval(() => { for (const p of this.entries.keys()) void this.recheck(p); }, RECHECK_MS);
    this.timer.unref();
  }

  /** Guards exactly these paths from now on; resolves with why each one that could not be marked failed. */
  async set(paths: readonly string[]): Promise<Map<string, string>> {
    for (const [p, e] of this.entries) if (!paths.includes(p)) this.drop(p, e);
    for (const p of paths) {
      if (this.entries.has(p)) continue;
      const entry: Entry = { current: undefined, watchers: [], problem: undefined };
      this.entries.set(p, entry);
      entry.problem = this.markNow(p, entry);
      await this.follow(p, entry);
    }
    return new Map([...this.entries].filter(([, e]) => e.problem !== undefined).map(([p, e]) => [p, e.problem!]));
  }

  /** The configured paths whose marked program has this inode. */
  pathsFor(file: { dev: number; ino: number }): string[] {
    return [...this.entries].filter(([, e]) => e.current?.dev === file.dev && e.current.ino === file.ino).map(([p]) => p);
  }

  /** Whether the path is guarded now (marked), and if not, why. */
  state(p: string): { guarded: boolean; problem?: string } {
    const e = this.entries.get(p);
    return e?.current ? { guarded: true } : { guarded: false, problem: e?.problem ?? 'not configured' };
  }

  /** Drops every mark and watcher. */
  close(): void {
    clearInterval(this.timer);
    for (const [p, e] of this.entries) this.drop(p, e);
  }

  private markNow(p: string, entry: Entry): string | undefined {
    try {
      const next = this.guard.mark(p);
      const old = entry.current;
      entry.current = next;
      // The new mark first, then the old one goes: no moment without a mark on the path's program.
      if (old) {
        this.release(old);
        this.emit('remarked', p, next);
      }
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }

  private async recheck(p: string): Promise<void> {
    const entry = this.entries.get(p);
    if (!entry) return;
    const now = await stat(p).then((s) => ({ dev: s.dev, ino: s.ino }), () => undefined);
    if (!needsRemark(entry.current, now)) return;
    const problem = this.markNow(p, entry);
    if (problem !== entry.problem && problem !== undefined) this.emit('problem', p, problem);
    entry.problem = problem;
    await this.follow(p, entry);
  }

  /** Watches the directories that decide what the path names: its own, and its symlink target's. */
  private async follow(p: string, entry: Entry): Promise<void> {
    const dirs = new Set([path.dirname(p), path.dirname(await realpath(p).catch(() => p))]);
    for (const w of entry.watchers) w.close();
    entry.watchers = [];
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => void this.recheck(p));
        w.on('error', () => undefined);
        entry.watchers.push(w);
      } catch {
        // A missing directory: the periodic re-check still finds the file when it appears.
      }
    }
  }

  private drop(p: string, e: Entry): void {
    for (const w of e.watchers) w.close();
    this.entries.delete(p);
    if (e.current) this.release(e.current);
  }

  /** Lets go of a file, keeping the kernel's mark while another path still holds the same inode. */
  private release(file: MarkedFile): void {
    const shared = [...this.entries.values()].some((e) => e.current !== undefined && e.current.id !== file.id && e.current.dev === file.dev && e.current.ino === file.ino);
    this.guard.unmark(file, shared);
  }
}
