// Everything the benchmark creates registers its undo here: run in reverse order at the
// end of a section, on an error, and (synchronously) on Ctrl-C, SIGTERM or exit.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface Undo {
  readonly label: string;
  readonly run: () => Promise<void> | void;
  readonly sync: () => void;
}

const stack: Undo[] = [];
let installed = false;

/** Registers an undo (async form, and a sync form for signal handlers); returns a function that runs it now, once. */
export function onCleanup(label: string, run: () => Promise<void> | void, sync: () => void = () => undefined): () => Promise<void> {
  const undo: Undo = { label, run, sync };
  stack.push(undo);
  return async () => {
    const i = stack.indexOf(undo);
    if (i < 0) return;
    stack.splice(i, 1);
    await undo.run();
  };
}

/** Runs every registered undo, newest first; failures are reported, never stop the rest. */
export async function cleanupAll(log: (line: string) => void = console.error): Promise<void> {
  while (stack.length > 0) {
    const undo = stack.pop()!;
    try {
      await undo.run();
    } catch (error) {
      log(`cleanup (${undo.label}) failed: ${String(error)}`);
    }
  }
}

function cleanupSync(): void {
  while (stack.length > 0) {
    const undo = stack.pop()!;
    try { undo.sync(); } catch { /* keep going: the rest must still go */ }
  }
}

/** Installs the Ctrl-C / SIGTERM / exit handlers once. */
export function installSignalCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, cleaning up`);
      cleanupSync();
      process.exit(130); // the lab's own 'exit' handler then removes any lab still live
    });
  }
}

/** Sends a signal to one pid, ignoring a process that is already gone. */
export function signalPid(pid: number | undefined, sig: NodeJS.Signals = 'SIGTERM'): void {
  if (pid === undefined) return;
  try { process.kill(pid, sig); } catch { /* gone */ }
}

/** SIGKILLs every process of a cgroup subtree (cgroup.kill), waits briefly for it to empty, then rmdirs it depth-first. */
export function removeGroupSync(dir: string): void {
  // A few rounds: a process moved in while a round ran (a filler mid-way) dies in the next.
  for (let round = 0; round < 4 && existsSync(dir); round++) {
    if (/populated 1/.test(readSafe(path.join(dir, 'cgroup.events')))) {
      try { writeFileSync(path.join(dir, 'cgroup.kill'), '1'); } catch { /* no kill file: nothing we can do but try rmdir */ }
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && /populated 1/.test(readSafe(path.join(dir, 'cgroup.events')))) sleepSync(10);
    }
    rmTreeSync(dir);
  }
}

/** SIGKILLs a pid and waits (up to 1 s) until it is dead or a zombie, so it can no longer act. */
export function killAndWaitSync(pid: number | undefined): void {
  if (pid === undefined) return;
  signalPid(pid, 'SIGKILL');
  for (const deadline = Date.now() + 1000; Date.now() < deadline; sleepSync(5)) {
    const stat = readSafe(`/proc/${pid}/stat`);
    if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
  }
}

/** Blocks the thread for ms milliseconds (only for signal-time cleanup, where nothing async runs). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readSafe(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}

function rmTreeSync(dir: string): void {
  let entries: string[] = [];
  try { entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name); } catch { return; }
  for (const e of entries) rmTreeSync(path.join(dir, e));
  try { rmdirSync(dir); } catch { /* busy or gone */ }
}

/** Deletes a named network namespace (sync; absent is fine). */
export function deleteNamespaceSync(ns: string): void {
  try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* absent */ }
}
