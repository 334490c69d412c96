import { watch, type FSWatcher } from 'node:fs';
import { CgroupError, cgroupErrorFor } from './errors.js';
import { readControl, readControlSync } from './fsio.js';
import { parseCgroupEvents, type CgroupEvents } from './parse.js';

/**
 * Watches a cgroup.events file until `wanted` holds, then calls `onDone` once with the state
 * (or with the error that ended the watch). Returns a function that stops watching.
 * The kernel sends an inotify modify event whenever the file's values change; the file is
 * re-read right after the watch is armed, so a change that happened before arming is not missed.
 */
export function watchEvents(
  eventsFile: string,
  wanted: (events: CgroupEvents) => boolean,
  onDone: (result: CgroupEvents | CgroupError) => void,
): () => void {
  let finished = false;
  let watcher: FSWatcher | undefined;
  const finish = (result: CgroupEvents | CgroupError): void => {
    if (finished) return;
    finished = true;
    watcher?.close();
    onDone(result);
  };
  const check = (): void => {
    if (finished) return;
    // Read at once (a few bytes the kernel makes up on the spot: no thread-pool round trip on the
    // reaction's path), reported through the one asynchronous path all the same.
    let events: CgroupEvents;
    try {
      events = parseCgroupEvents(readControlSync(eventsFile, 'read cgroup.events'));
    } catch (error) {
      queueMicrotask(() => finish(error as CgroupError));
      return;
    }
    if (wanted(events)) queueMicrotask(() => finish(events));
  };
  try {
    watcher = watch(eventsFile, () => check());
    watcher.on('error', (cause) => finish(cgroupErrorFor('watch cgroup.events', eventsFile, cause)));
  } catch (cause) {
    // Reported asynchronously, like every other outcome, so callers see one code path.
    queueMicrotask(() => finish(cgroupErrorFor('watch cgroup.events', eventsFile, cause)));
    return () => { finished = true; };
  }
  check();
  return () => {
    finished = true;
    watcher?.close();
  };
}

/** What a wait is for, so a timeout names it and says what to do. */
export interface WaitLabel {
  /** e.g. "freeze /sys/fs/cgroup/ksapp/app". */
  action: string;
  /** What the user can do when it does not happen in time. */
  hint: string;
}

/** Resolves with the cgroup.events state once `wanted` holds; rejects with CGROUP_TIMEOUT after timeoutMs. */
export function waitForEvents(
  eventsFile: string,
  wanted: (events: CgroupEvents) => boolean,
  timeoutMs: number,
  label: WaitLabel,
): Promise<CgroupEvents> {
  // Already there (a thaw, an empty group, a freeze the kernel finished at once): no watch to arm.
  try {
    const now = parseCgroupEvents(readControlSync(eventsFile, 'read cgroup.events'));
    if (wanted(now)) return Promise.resolve(now);
  } catch {
    // The watch below reports it through the one asynchronous path.
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      // One last look: on a CPU-starved machine the state may have changed while our read was queued.
      readControl(eventsFile, 'read cgroup.events')
        .then((text) => {
          const events = parseCgroupEvents(text);
          if (wanted(events)) return resolve(events);
          throw new CgroupError(`timed out after ${timeoutMs} ms waiting to ${label.action} (cgroup.events: ${text.trim().replace(/\n/g, ', ')})`, {
            code: 'CGROUP_TIMEOUT', hint: label.hint,
          });
        })
        .catch(reject);
    }, timeoutMs);
    const stop = watchEvents(eventsFile, wanted, (result) => {
      clearTimeout(timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    });
  });
}
