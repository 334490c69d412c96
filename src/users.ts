import { readFileSync } from 'node:fs';

/** One account from passwd. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Parses passwd text into accounts (pure). */
export function parseAccounts(text: string): Account[] {
  const accounts: Account[] = [];
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name && uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)) {
      accounts.push({ name, uid: Number(uid), gid: Number(gid) });
    }
  }
  return accounts;
}

/** Maps uids to user names from passwd text (pure). */
export function parsePasswd(text: string): Map<number, string> {
  return new Map(parseAccounts(text).map((a) => [a.uid, a.name]));
}

let cache: Account[] | undefined;
const accounts = (): Account[] => {
  cache ??= parseAccounts((() => { try { return readFileSync('/etc/passwd', 'utf8'); } catch { return ''; } })());
  return cache;
};

/** The user name of a uid, or the number when unknown. */
export function userName(uid: number): string {
  return accounts().find((a) => a.uid === uid)?.name ?? String(uid);
}

/** The account named by a user name or a numeric uid; undefined when there is none. */
export function findAccount(user: string): Account | undefined {
  return accounts().find((a) => a.name === user || String(a.uid) === user);
}
