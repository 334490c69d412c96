// Waits until a child `ip monitor` has joined its netlink multicast groups, so a snapshot
// taken afterwards cannot miss an event that happens between the snapshot and the
// subscription. ip prints nothing when it is ready; the kernel's socket table says it:
// /proc/PID/net/netlink (the child's own namespace) lists each netlink socket with its
// inode and group mask, and /proc/PID/fd maps the child's fds to those inodes.
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Socket inodes whose netlink entry has joined at least one group (pure, on /proc/net/netlink text). */
export function subscribedInodes(netlinkTable: string): Set<string> {
  const result = new Set<string>();
  for (const line of netlinkTable.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
    if (f.length >= 10 && f[1] === '0' && !/^0+$/.test(f[3] ?? '0')) result.add(f[9] ?? '');
  }
  return result;
}

async function socketInodes(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.map((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
}

/** Resolves true once `pid` holds a subscribed rtnetlink socket, false after `timeoutMs` or if it is gone. */
export async function waitNetlinkSubscribed(pid: number, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const [inodes, table] = await Promise.all([socketInodes(pid), readFile(`/proc/${pid}/net/netlink`, 'utf8')]);
      const subscribed = subscribedInodes(table);
      if (inodes.some((i) => subscribed.has(i))) return true;
    } catch {
      return false; // the process is gone
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}
