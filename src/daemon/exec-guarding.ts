// The daemon's side of the exec guard: which config rules are guarded at exec, and what to do with a
// process the guard staged (move it into its app's group, or put it back when the rule's other fields
// — name, user — say it is not the app's).
import path from 'node:path';
import { ExecGuard, GuardedPrograms, matches, readStat, readStatus, resolveRule, returnTo, type GuardedExec, type MatchRule } from '../adopt/index.js';
import type { AppConfig } from '../config/index.js';
import type { Supervisor } from '../supervisor/index.js';

/** How a config rule learns of new instances. */
export interface RuleGuard {
  readonly app: string;
  /** `exec`: confined before its first instruction; `after-start`: adopted once seen, with a window; `unit`: its systemd unit protects its group before it starts (`ksapp setup`'s drop-in). */
  readonly guard: 'exec' | 'after-start' | 'unit';
  /** Why a rule is not guarded at exec. */
  readonly why?: string;
}

/** A unit rule's guard: the unit's own ExecStartPre (installed by `ksapp setup`). */
export function unitGuard(a: AppConfig): RuleGuard {
  return { app: a.name, guard: 'unit', why: `${a.match!.unit} is protected by its drop-in's ExecStartPre before it starts (installed by \`ksapp setup\`)` };
}

/** A container rule's guard: none at exec; it is protected once its runtime reports it started (or the periodic check finds it). */
export function containerGuard(a: AppConfig): RuleGuard {
  return { app: a.name, guard: 'after-start', why: `container ${a.match!.container} is protected once its runtime reports its start: until then (the window is logged with each adoption) it runs unprotected` };
}

/** Where a staged process goes: its app (with where it came from), or back where it was. */
export type StagedVerdict = { app: AppConfig; from: string } | { back: string } | undefined;

/** Decides a staged process's app from the rules that name its program and the process's facts (pure). */
export function stagedVerdict(candidates: ReadonlyArray<{ app: AppConfig; rule: MatchRule }>, proc: { name: string; uid?: number; exe?: string }, from: string): StagedVerdict {
  for (const { app, rule } of candidates) {
    // The exe already matched (the guard saw that very file run, perhaps as a script): check the rest.
    const rest: MatchRule = { ...(rule.name !== undefined ? { name: rule.name } : {}), ...(rule.user !== undefined ? { user: rule.user } : {}) };
    if (rest.name === undefined && rest.user === undefined) return { app, from };
    if (matches({ pid: 0, ppid: 0, ...proc }, rest)) return { app, from };
  }
  return from ? { back: from } : undefined;
}

/** Owns the exec guard for the config's `exe` rules and turns its staged processes into adoptions. */
export class ExecGuarding {
  private rules: Array<{ app: AppConfig; rule: MatchRule }> = [];
  private problems = new Map<string, string>();

  private constructor(private readonly guard: ExecGuard, private readonly programs: GuardedPrograms, private readonly root: string) {}

  /** Opens the guard with its staging group; returns why not when the kernel or the build refuses. */
  static async open(sup: Supervisor, root: string, onStaged: (app: AppConfig, pid: number, from: string, heardAt: bigint) => void,
    note: (detail: string, app?: string) => void): Promise<ExecGuarding | string> {
    const staging = await sup.stagingGroup();
    let guard: ExecGuard;
    try {
      guard = ExecGuard.open(path.join(staging.path, 'cgroup.procs'), `/${path.relative(root, sup.parentPath)}`);
    } catch (error) {
      return (error as Error).message;
    }
    const programs = new GuardedPrograms(guard);
    const self = new ExecGuarding(guard, programs, root);
    guard.on('exec', (e) => void self.handle(e, onStaged, note));
    guard.on('error', (e) => note(e.message));
    programs.on('remarked', (p) => note(`${p} was replaced by a new file; the new file is guarded at exec`));
    programs.on('problem', (p, why) => note(`${why}; new instances are adopted after they start until it can be guarded`));
    return self;
  }

  /** Guards the `exe` rules of these apps (and no others); names every rule that cannot be guarded. */
  async set(apps: readonly AppConfig[]): Promise<void> {
    const rules: typeof this.rules = [];
    for (const app of apps) {
      if (app.match?.exe === undefined) continue;
      rules.push({ app, rule: await resolveRule(app.match).catch(() => app.match!) });
    }
    this.rules = rules;
    this.problems = await this.programs.set([...new Set(rules.map((r) => r.app.match!.exe!))]);
  }

  /** How each rule is guarded now. */
  states(apps: readonly AppConfig[]): RuleGuard[] {
    return apps.filter((a) => a.match).map((a) => {
      if (a.match!.unit !== undefined) return unitGuard(a);
      if (a.match!.container !== undefined) return containerGuard(a);
      const exe = a.match!.exe;
      if (exe === undefined) return { app: a.name, guard: 'after-start', why: 'the rule names no exe (only an exe can be guarded at exec)' } as const;
      const s = this.programs.state(exe);
      return s.guarded ? { app: a.name, guard: 'exec' } as const : { app: a.name, guard: 'after-start', why: `${a.at ? `${a.at}: ` : ''}${this.problems.get(exe) ?? s.problem}` } as const;
    });
  }

  /** Stops guarding. */
  close(): void {
    this.programs.close();
    this.guard.close();
  }

  private async handle(e: GuardedExec, onStaged: (app: AppConfig, pid: number, from: string, heardAt: bigint) => void, note: (detail: string, app?: string) => void): Promise<void> {
    if (e.outcome === 'denied') {
      note(`the exec of pid ${e.pid} was refused: it could not be put in the staging group (errno ${e.errno ?? '?'})`);
      return;
    }
    if (e.outcome !== 'staged' || e.file === undefined) return;
    const paths = new Set(this.programs.pathsFor(e.file));
    const candidates = this.rules.filter((r) => paths.has(r.app.match!.exe!));
    const [stat, status] = await Promise.all([readStat(e.pid), readStatus(e.pid)]);
    if (stat === undefined) return; // exited already
    const verdict = stagedVerdict(candidates, { name: stat.comm, uid: status?.uid }, e.from);
    if (verdict === undefined) return; // origin unknown: it stays confined in staging
    if ('back' in verdict) await returnTo(this.root, e.pid, verdict.back);
    else onStaged(verdict.app, e.pid, verdict.from, e.heardAt);
  }
}
