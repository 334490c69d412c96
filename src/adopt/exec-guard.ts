// Confinement at exec, before the program's first instruction (fanotify FAN_OPEN_EXEC_PERM on the
// configured programs' inodes, answered by a thread of the `execguard` addon; see src/native/execguard.c).
// The addon puts each new instance into a staging group below ksapp's parent — already confined by the
// parent's catch-all rule — and only then lets the exec go on; the daemon moves it into its app's group.
import { EventEmitter } from 'node:events';
import { loadAddon } from '../native/load.js';
import { runtimeError } from './errors.js';

/** Where an exec of a marked program ended up. */
export type GuardOutcome = 'staged' | 'confined' | 'denied' | 'gone';

/** One exec of a marked program, as the guard's thread handled it. */
export interface GuardedExec {
  readonly outcome: GuardOutcome;
  readonly pid: number;
  /** The process's cgroup (below the mount, `/user.slice/…`) before the guard moved it; '' when unknown. */
  readonly from: string;
  /** The marked file that was executed: a script's, not its interpreter's. */
  readonly file: { readonly dev: number; readonly ino: number } | undefined;
  /** The errno's name when a move was refused. */
  readonly errno?: string;
  /** process.hrtime.bigint() when JavaScript heard of it. */
  readonly heardAt: bigint;
}

/** A program file the guard holds a mark on. */
export interface MarkedFile {
  readonly id: number;
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

type Addon = {
  open(stagingProcs: string, parentRel: string, onEvent: (kind: number, pid: number, errno: number, cgroup: string, dev: number, ino: number) => void): unknown;
  mark(handle: unknown, path: string): [number, number, number];
  unmark(handle: unknown, id: number, removeMark: boolean): void;
  close(handle: unknown): void;
};

const KINDS: Record<number, GuardOutcome | 'failed'> = { 0: 'staged', 1: 'confined', 2: 'denied', 3: 'failed' };
const ESRCH = 3;

/** Confines every exec of the marked programs into the staging group; tells listeners what it did. */
export class ExecGuard extends EventEmitter<{ exec: [GuardedExec]; error: [Error] }> {
  private closed = false;

  private constructor(private readonly addon: Addon, private readonly handle: unknown) {
    super();
  }

  /**
   * Opens the guard. `stagingProcs` is the staging group's cgroup.procs file,
   * `parentRel` ksapp's parent below the mount (processes already below it are
   * left where they are). Throws EXEC_GUARD_UNAVAILABLE with the reason.
   */
  static open(stagingProcs: string, parentRel: string): ExecGuard {
    const addon = loadAddon<Addon>('execguard');
    if (!addon) throw runtimeError('EXEC_GUARD_UNAVAILABLE', 'the execguard addon is not built', 'run `npm run build` (it needs a C compiler and make)');
    let guard: ExecGuard | undefined;
    let handle: unknown;
    try {
      handle = addon.open(stagingProcs, parentRel, (kind, pid, errno, cgroup, dev, ino) => guard?.report(kind, pid, errno, cgroup, dev, ino));
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw runtimeError('EXEC_GUARD_UNAVAILABLE', `fanotify permission events are unavailable (${(cause as Error).message})`,
        code === 'EPERM' ? 'the daemon needs CAP_SYS_ADMIN' : 'the kernel needs CONFIG_FANOTIFY_ACCESS_PERMISSIONS (Linux 5.0 or newer)', cause);
    }
    guard = new ExecGuard(addon, handle);
    return guard;
  }

  /** Marks a program (a symlink is followed: the target is what runs); throws EXEC_GUARD_MARK naming why. */
  mark(path: string): MarkedFile {
    try {
      const [id, dev, ino] = this.addon.mark(this.handle, path);
      return { id, path, dev, ino };
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'it does not exist' : code === 'EISDIR' ? 'it is a directory' : (cause as Error).message;
      throw runtimeError('EXEC_GUARD_MARK', `cannot guard ${path}: ${why}`, 'check the path; until it can be marked, new instances are adopted after they start', cause);
    }
  }

  /**
   * Lets go of a marked file, also after its path has moved on to another
   * file. The kernel keeps one mark per inode: `keepMark` when another
   * configured path still names the same program.
   */
  unmark(file: MarkedFile, keepMark = false): void {
    if (!this.closed) this.addon.unmark(this.handle, file.id, !keepMark);
  }

  /** Stops guarding: execs waiting now are allowed by the kernel (the next daemon confines them at start). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }

  private report(kind: number, pid: number, errno: number, from: string, dev: number, ino: number): void {
    const heardAt = process.hrtime.bigint();
    const outcome = KINDS[kind];
    if (outcome === 'failed' || outcome === undefined) {
      if (this.listenerCount('error') > 0) this.emit('error', new Error(`the exec guard's thread failed (errno ${errno}); new instances are adopted after they start`));
      return;
    }
    const file = dev === 0 && ino === 0 ? undefined : { dev, ino };
    const gone = outcome === 'staged' && errno === ESRCH;
    this.emit('exec', { outcome: gone ? 'gone' : outcome, pid, from, file, heardAt, ...(errno && !gone ? { errno: String(errno) } : {}) });
  }
}
