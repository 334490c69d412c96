// Sockets that outlive an adoption and cannot be destroyed (UDP comes back on its next sendto, raw and
// ICMP sockets cannot be destroyed at all) are marked instead: the daemon takes its own descriptor of
// the very socket (pidfd_getfd) and sets SO_MARK to the app's firewall mark. Every packet the app
// sends through it from then on is steered into the tunnel and guarded like the app's own; the
// native addon reads the mark back, so a socket is only called marked when the kernel holds the mark.
import { stat } from 'node:fs/promises';
import { loadAddon } from '../native/load.js';
import { socketFds } from './proc.js';

type SockmarkAddon = { markSocket(pid: number, fd: number, mark: number, onlyIf?: number): { domain: number; type: number; mark: number; netns: number; changed: boolean } };

const AF_INET = 2;
const AF_INET6 = 10;

/** What became of one socket: marked, or why not (in words for the user). */
export type MarkOutcome = { readonly marked: true } | { readonly marked: false; readonly reason: string };

/** One descriptor of each wanted socket inode among the processes' open files. */
async function descriptors(wanted: ReadonlyMap<number, readonly number[]>, procRoot: string): Promise<Map<number, { pid: number; fd: number }>> {
  const found = new Map<number, { pid: number; fd: number }>();
  for (const { pid, fd, inode } of await socketFds([...new Set([...wanted.values()].flat())], procRoot)) {
    if (wanted.has(inode) && !found.has(inode)) found.set(inode, { pid, fd });
  }
  return found;
}

/** Explains an addon error in terms the user can act on. */
function why(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EPERM') return `could not take hold of it (${e.message}): ptrace is restricted here (kernel.yama.ptrace_scope); restart the app`;
  if (e.code === 'ENOSYS') return 'this kernel has no pidfd_getfd (Linux 5.6 or newer is needed); restart the app';
  return `could not mark it (${e.message}); restart the app`;
}

/**
 * Sets `mark` on each socket (inode → the app's pids holding it). Only internet sockets of this
 * network namespace are marked: elsewhere the mark would meet none of ksapp's rules.
 */
export async function markSockets(wanted: ReadonlyMap<number, readonly number[]>, mark: number, procRoot = '/proc'): Promise<Map<number, MarkOutcome>> {
  const out = new Map<number, MarkOutcome>();
  if (wanted.size === 0) return out;
  const addon = loadAddon<SockmarkAddon>('sockmark');
  const fds = await descriptors(wanted, procRoot);
  const ourNetns = (await stat('/proc/self/ns/net')).ino;
  for (const inode of wanted.keys()) {
    const at = fds.get(inode);
    if (addon === undefined) out.set(inode, { marked: false, reason: 'the sockmark addon is not built (npm run build); restart the app' });
    else if (at === undefined) out.set(inode, { marked: false, reason: 'no process of the app holds it any more' });
    else {
      try {
        const r = addon.markSocket(at.pid, at.fd, mark);
        if (r.domain !== AF_INET && r.domain !== AF_INET6) out.set(inode, { marked: false, reason: 'not an internet socket: it skips IP routing and the firewall, so a mark cannot confine it; restart the app' });
        else if (r.netns !== ourNetns) out.set(inode, { marked: false, reason: "it belongs to another network namespace, where ksapp's rules are not; restart the app" });
        else if (r.mark !== mark) out.set(inode, { marked: false, reason: `the kernel kept mark 0x${r.mark.toString(16)}; restart the app` });
        else out.set(inode, { marked: true });
      } catch (error) {
        out.set(inode, { marked: false, reason: why(error) });
      }
    }
  }
  return out;
}

/**
 * Takes `mark` off every socket of these processes that still carries exactly it (a release: the app
 * leaves ksapp, and its sockets must not stay steered into the tunnel). Best effort; returns how many
 * sockets were cleared. A socket left marked only stays confined, it never leaks.
 */
export async function clearMarks(pids: readonly number[], mark: number, procRoot = '/proc'): Promise<number> {
  const addon = loadAddon<SockmarkAddon>('sockmark');
  if (addon === undefined) return 0;
  let cleared = 0;
  for (const { pid, fd } of await socketFds(pids, procRoot)) {
    try {
      if (addon.markSocket(pid, fd, 0, mark).changed) cleared++;
    } catch {
      // Gone meanwhile, or not ours to touch: nothing to undo.
    }
  }
  return cleared;
}
