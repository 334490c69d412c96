// Which kind of socket an inode is, from the /proc/PID/net tables of the process's network namespace.
import { readFile } from 'node:fs/promises';

/** Socket kinds that `ss -t -u` does not list, by the /proc/net table that does. */
export type TableKind = 'raw' | 'icmp' | 'udplite' | 'packet' | 'unix' | 'netlink';

/** Each table, the kind it holds, and the column of the inode in its lines. */
const TABLES: readonly [file: string, kind: TableKind, column: number][] = [
  ['raw', 'raw', 9], ['raw6', 'raw', 9], ['icmp', 'icmp', 9], ['icmp6', 'icmp', 9],
  ['udplite', 'udplite', 9], ['udplite6', 'udplite', 9],
  ['packet', 'packet', 8], ['unix', 'unix', 6], ['netlink', 'netlink', 9],
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

/** Kind of each wanted inode found in the tables of `pid`'s namespace; inodes found nowhere are left out. */
export async function tableKinds(pid: number, wanted: ReadonlySet<number>, procRoot = '/proc'): Promise<Map<number, TableKind>> {
  const kinds = new Map<number, TableKind>();
  for (const [file, kind, column] of TABLES) {
    if (kinds.size === wanted.size) break;
    const text = await readFile(`${procRoot}/${pid}/net/${file}`, 'utf8').catch(() => '');
    for (const inode of parseInodeColumn(text, column)) if (wanted.has(inode)) kinds.set(inode, kind);
  }
  return kinds;
}
