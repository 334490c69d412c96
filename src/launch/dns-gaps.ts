// Name lookups the firewall cannot see: a process that asks a local resolver over a
// Unix socket has the resolver, outside the app's group, send the query wherever the
// resolver sends its own. The launcher hides these sockets in the app's private mount
// namespace; an app ksapp did not start (adopted, or run without root) has none, so it
// must be told, never assumed protected.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A local resolver reachable over a Unix socket, and the path that reveals it. */
interface LocalResolver {
  readonly socket: string;
  readonly what: string;
  /** glibc asks it only when nsswitch's `hosts:` names this module (undefined: whenever the socket exists). */
  readonly nssModule?: string;
}

const LOCAL_RESOLVERS: readonly LocalResolver[] = [
  { socket: '/run/systemd/resolve/io.systemd.Resolve', what: 'systemd-resolved (nss-resolve)', nssModule: 'resolve' },
  { socket: '/run/nscd/socket', what: 'nscd' },
  { socket: '/var/run/nscd/socket', what: 'nscd' },
];

/** The directories of those sockets: the launcher hides each in the app's private mount namespace. */
export const RESOLVER_SOCKET_DIRS: readonly string[] = [...new Set(LOCAL_RESOLVERS.map((r) => path.dirname(r.socket)))];

/** The modules of nsswitch.conf's `hosts:` line, without `[...]` actions (pure). */
export function nsswitchHosts(text: string): string[] {
  const line = text.split('\n').map((l) => l.replace(/#.*/, '').trim()).find((l) => /^hosts\s*:/.test(l));
  if (!line) return [];
  return line.replace(/^hosts\s*:/, '').replace(/\[[^\]]*\]/g, ' ').split(/\s+/).filter(Boolean);
}

/**
 * The local resolvers an app without a private mount namespace would reach (pure): one line each,
 * naming the service and its socket.
 */
export function dnsBypasses(hostsModules: readonly string[], socketExists: (path: string) => boolean): string[] {
  const found = new Map<string, string>();
  for (const r of LOCAL_RESOLVERS) {
    if (found.has(r.what) || !socketExists(r.socket)) continue;
    if (r.nssModule !== undefined && !hostsModules.includes(r.nssModule)) continue;
    found.set(r.what, `${r.what} at ${r.socket}`);
  }
  return [...found.values()];
}

/** The local resolvers on this machine that lookups of an app without a private mount namespace go through. */
export function localDnsBypasses(): string[] {
  let nsswitch = '';
  try {
    nsswitch = readFileSync('/etc/nsswitch.conf', 'utf8');
  } catch {
    // No nsswitch.conf: glibc's built-in default has no resolve module.
  }
  return dnsBypasses(nsswitchHosts(nsswitch), existsSync);
}

/** One sentence for the user about lookups through these resolvers (empty list: none). */
export function dnsBypassWarning(app: string, bypasses: readonly string[]): string | null {
  if (bypasses.length === 0) return null;
  return `${app}: name lookups through ${bypasses.join(' and ')} are sent by that service, outside the app's group, ` +
    'so they do not go through the tunnel (the app\'s own traffic still does). ksapp hides these sockets only from apps it starts as root: ' +
    'start the app with `sudo ksapp run` to close this';
}
