// Which kind of socket an inode is, from the /proc/PID/net tables of network namespaces.
import { readFile, readlink } from 'node:fs/promises';

/** Socket kinds by the /proc/net table that lists them. */
export type TableKind = 'tcp' | 'udp' | 'raw' | 'icmp' | 'udplite' | 'packet' | 'unix' | 'netlink';

/** Each table, the kind it holds, and the column of the inode in its lines. */
const TABLES: readonly [file: string, kind: TableKind, column: number][] = [
  ['unix', 'unix', 6], ['netlink', 'netlink', 9], ['tcp', 'tcp', 9], ['tcp6', 'tcp', 9], ['udp', 'udp', 9], ['udp6', 'udp', 9],
  ['raw', 'raw', 9], ['raw6', 'raw', 9], ['icmp', 'icmp', 9], ['icmp6', 'icmp', 9],
  ['udplite', 'udplite', 9], ['udplite6', 'udplite', 9], ['packet', 'packet', 8],
];

/** The inodes in one /proc/net table (header skipped); `column` is the 0-based field holding the inode. */
export function parseInodeColumn(text: string, column: number): number[] {
  const inodes: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const field = line.trim().split(/\s+/)[column];
    if (field !== undefined && /^\d+$/.test(field) && field !== '0') inodes.push(Number(field));
  }
  return inodes;
}

/** A socket found in a table, and whether that table is of another network namespace than the holder's. */
export interface TableHit {
  kind: TableKind;
  foreign: boolean;
}

/**
 * Looks the wanted inodes up in the tables of the holder's namespace, then of the other candidates'
 * (a socket keeps the namespace it was created in: a stdio socketpair made by a parent elsewhere, or a
 * socket opened before a setns). Inodes found nowhere are left out.
 */
export async function tableKinds(holder: number, candidates: readonly number[], wanted: ReadonlySet<number>, procRoot = '/proc'): Promise<Map<number, TableHit>> {
  const hits = new Map<number, TableHit>();
  const seenNs = new Set<string>();
  for (const pid of [holder, ...candidates]) {
    const ns = await readlink(`${procRoot}/${pid}/ns/net`).catch(() => undefined);
    if (ns === undefined || seenNs.has(ns)) continue;
    seenNs.add(ns);
    for (const [file, kind, column] of TABLES) {
      if (hits.size === wanted.size) return hits;
      const text = await readFile(`${procRoot}/${pid}/net/${file}`, 'utf8').catch(() => '');
      for (const inode of parseInodeColumn(text, column)) {
        if (wanted.has(inode) && !hits.has(inode)) hits.set(inode, { kind, foreign: pid !== holder });
      }
    }
  }
  return hits;
}
