import { readFileSync } from 'node:fs';

/** Maps uids to user names from passwd text (pure). */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid)) users.set(Number(uid), name);
  }
  return users;
}

let cache: Map<number, string> | undefined;

/** The user name of a uid, or the number when unknown. */
export function userName(uid: number): string {
  cache ??= parsePasswd((() => { try { return readFileSync('/etc/passwd', 'utf8'); } catch { return ''; } })());
  return cache.get(uid) ?? String(uid);
}
