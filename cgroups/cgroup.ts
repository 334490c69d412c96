import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path/posix';
import { CgroupError, cgroupErrorFor } from './errors.js';
import { readControl, writeControlRaw, writeFlagSync } from './fsio.js';
import { normalizeCgroupPath, validateCgroupName } from './names.js';
import { parseCgroupEvents, type CgroupEvents } from './parse.js';
import { childGroups, groupPids, movePid, removeTree, subtreePids } from './tree.js';
import { waitForEvents, watchEvents } from './watch.js';

/** A handle on one cgroup v2 directory; methods act on the kernel's interface files in it. */
export class Cgroup {
  /** Absolute path of the group's directory, e.g. /sys/fs/cgroup/ksapp/app. */
  readonly path: string;

  private constructor(absPath: string) {
    this.path = absPath;
  }

  /** Opens an existing group; throws CGROUP_NOT_FOUND if it does not exist or is not a cgroup. */
  static open(absPath: string): Cgroup {
    const dir = normalizeCgroupPath(absPath);
    try {
      statSync(path.join(dir, 'cgroup.procs'));
    } catch (cause) {
      throw cgroupErrorFor('open cgroup', dir, cause);
    }
    return new Cgroup(dir);
  }

  /** Creates the group and any missing ancestors (mkdir -p); succeeds if it already exists. */
  static async create(absPath: string): Promise<Cgroup> {
    const dir = normalizeCgroupPath(absPath);
    try {
      await mkdir(dir, { recursive: true });
    } catch (cause) {
      throw cgroupErrorFor('create cgroup', dir, cause);
    }
    return Cgroup.open(dir);
  }

  /** Returns a handle on the child group `name` without touching the kernel; it may not exist yet. */
  child(name: string): Cgroup {
    validateCgroupName(name);
    return new Cgroup(path.join(this.path, name));
  }

  /** Creates the child group `name` (idempotent) and returns it. */
  createChild(name: string): Promise<Cgroup> {
    return Cgroup.create(this.child(name).path);
  }

  /**
   * Creates the child group `name`, which must not exist yet (CGROUP_EXISTS
   * otherwise): whoever made a group this way may remove it again, and never
   * removes a group it did not make.
   */
  async makeChild(name: string): Promise<Cgroup> {
    const dir = this.child(name).path;
    try {
      await mkdir(dir);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CgroupError(`cgroup ${dir} already exists`, {
          code: 'CGROUP_EXISTS', exitCode: 2, cause, hint: 'choose another name; ksapp never takes over a group it did not create',
        });
      }
      throw cgroupErrorFor('create cgroup', dir, cause);
    }
    return Cgroup.open(dir);
  }

  /** Handles on the existing child groups. */
  async children(): Promise<Cgroup[]> {
    return (await childGroups(this.path)).map((dir) => new Cgroup(dir));
  }

  /** Moves a process (all its threads) into this group; CGROUP_NO_SUCH_PROCESS if it is gone. */
  addPid(pid: number): Promise<void> {
    return movePid(this.path, pid);
  }

  /** Pids directly in this group (not its descendants), sorted and unique. */
  procs(): Promise<number[]> {
    return groupPids(this.path);
  }

  /** Pids in this group and every descendant, sorted and unique. */
  allPids(): Promise<number[]> {
    return subtreePids(this.path);
  }

  /** Same as allPids(): every process the group confines, descendants included (what a policy acts on). */
  pids(): Promise<number[]> {
    return subtreePids(this.path);
  }

  /** Current populated/frozen state from cgroup.events. */
  async events(): Promise<CgroupEvents> {
    return parseCgroupEvents(await readControl(this.eventsFile, 'read cgroup.events'));
  }

  /** True once the kernel reports every process of the group frozen. */
  async isFrozen(): Promise<boolean> {
    return (await this.events()).frozen;
  }

  /** Freezes the group and resolves once cgroup.events says `frozen 1`; CGROUP_TIMEOUT otherwise. */
  async freeze(timeoutMs = 2000): Promise<void> {
    writeFlagSync(path.join(this.path, 'cgroup.freeze'), '1', 'freeze cgroup');
    await waitForEvents(this.eventsFile, (e) => e.frozen, timeoutMs, {
      action: `freeze ${this.path}`,
      hint: 'a process may be stuck in uninterruptible I/O (state D in /proc/PID/status); retry, or kill the app',
    });
  }

  /** Thaws the group and resolves once cgroup.events says `frozen 0`; CGROUP_TIMEOUT otherwise. */
  async thaw(timeoutMs = 2000): Promise<void> {
    writeFlagSync(path.join(this.path, 'cgroup.freeze'), '0', 'thaw cgroup');
    await waitForEvents(this.eventsFile, (e) => !e.frozen, timeoutMs, {
      action: `thaw ${this.path}`,
      hint: 'an ancestor group may still be frozen (check cgroup.freeze in the parent groups)',
    });
  }

  /** SIGKILLs every process in the subtree via cgroup.kill (forks included) and resolves once it is empty. */
  async kill(timeoutMs = 2000): Promise<void> {
    await this.sendKill();
    await this.waitEmpty(timeoutMs);
  }

  /** Writes cgroup.kill: every process in the subtree is sent SIGKILL; they may not be gone yet. */
  async sendKill(): Promise<void> {
    const file = path.join(this.path, 'cgroup.kill');
    try {
      await writeControlRaw(file, '1');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(this.path)) {
        throw new CgroupError('this kernel has no cgroup.kill', { code: 'CGROUP_NO_KILL', cause, hint: 'ksapp needs Linux 5.14 or newer' });
      }
      throw cgroupErrorFor('kill cgroup', file, cause);
    }
  }

  /** Resolves once cgroup.events says `populated 0` (after sendKill: once every process has died). */
  async waitEmpty(timeoutMs = 2000): Promise<void> {
    await waitForEvents(this.eventsFile, (e) => !e.populated, timeoutMs, {
      action: `empty ${this.path} after cgroup.kill`,
      hint: 'a process may be stuck in uninterruptible I/O (state D); it dies once the I/O completes',
    });
  }

  /**
   * Calls onEmpty once when the group holds no process: at once if it is already empty, and also
   * if the group disappears. Other failures go to onError. Returns a function that stops watching.
   */
  watchPopulated(onEmpty: () => void, onError?: (error: CgroupError) => void): () => void {
    return watchEvents(this.eventsFile, (e) => !e.populated, (result) => {
      if (!(result instanceof Error) || result.code === 'CGROUP_NOT_FOUND') onEmpty();
      else onError?.(result);
    });
  }

  /**
   * Calls onGone once when the group's directory is removed (whether or not it
   * held processes before); other failures go to onError. Returns a function
   * that stops watching.
   */
  watchRemoved(onGone: () => void, onError?: (error: CgroupError) => void): () => void {
    return watchEvents(this.eventsFile, () => false, (result) => {
      if (result instanceof Error && result.code === 'CGROUP_NOT_FOUND') onGone();
      else if (result instanceof Error) onError?.(result);
    });
  }

  /** Removes child groups depth-first, then this one; a missing group is fine, a populated one is CGROUP_BUSY. */
  remove(): Promise<void> {
    return removeTree(this.path);
  }

  private get eventsFile(): string {
    return path.join(this.path, 'cgroup.events');
  }
}
