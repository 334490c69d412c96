/**
 * Builds the argv that starts an app already inside its cgroup.
 *
 * The launcher is a tiny POSIX shell program that writes its own pid into the
 * app's cgroup.procs and only then execs the app, so the app's first
 * instruction already runs confined (no spawn-then-move window). It runs in a
 * private mount namespace where local resolver sockets (systemd-resolved's
 * varlink, nscd) are always hidden, so name lookups cannot go around the tunnel
 * through a local daemon, and so are the user's tmux and screen sockets (their
 * servers run outside the group and would start whatever the app asks), and /etc/resolv.conf names the tunnel's resolvers
 * when there are any (without, lookups reach only loopback, where the firewall
 * drops them: closed, not leaked). User data only ever travels as positional
 * parameters, never as script text.
 */

import { RESOLVER_SOCKET_DIRS } from './dns-gaps.js';

/** What the launcher needs to know. */
export interface LaunchSpec {
  /** Absolute path of the app cgroup's cgroup.procs. */
  readonly procsFile: string;
  /** A resolv.conf to bind over /etc/resolv.conf, or null to keep the system's. */
  readonly resolvConf: string | null;
  /** Drop to this uid/gid before exec (the sudo caller), or null to stay as is. */
  readonly user: { readonly uid: number; readonly gid: number } | null;
  /** The app's argv. */
  readonly command: readonly string[];
}

/** Exit status the launcher uses when it could not confine the app; the app never ran. */
export const LAUNCH_FAILED = 126;

const SCRIPT = [
  'echo $$ > "$1" || exit 126',
  `for d in ${RESOLVER_SOCKET_DIRS.join(' ')}; do`,
  '  if [ -d "$d" ] && [ ! -L "$d" ]; then mount -t tmpfs -o mode=0755 ksapp-hidden "$d" || exit 126; fi',
  'done',
  'if [ -n "$2" ]; then',
  '  if [ -d /run/systemd/resolve ]; then',
  '    cp "$2" /run/systemd/resolve/stub-resolv.conf && cp "$2" /run/systemd/resolve/resolv.conf || exit 126',
  '  fi',
  '  mount --bind "$2" /etc/resolv.conf || exit 126',
  'fi',
  'u=$3; g=$4; shift 4',
  // The user's own terminal multiplexers run outside the app's group and start what they are asked
  // to: the app gets empty socket directories of its own in their place (it may still run its own).
  'for d in "/tmp/tmux-${u:-0}" "/run/screen/S-$(id -nu "${u:-0}" 2>/dev/null)"; do',
  '  if [ -d "$d" ] && [ ! -L "$d" ]; then mount -t tmpfs -o "mode=0700,uid=${u:-0},gid=${g:-0}" ksapp-hidden "$d" || exit 126; fi',
  'done',
  'if [ -n "$u" ]; then exec setpriv --reuid="$u" --regid="$g" --init-groups -- "$@"; fi',
  'exec "$@"',
].join('\n');

/** Returns [file, args] that start the app confined (pure). */
export function launchArgv(spec: LaunchSpec): [string, string[]] {
  const shell = [
    '/bin/sh', '-c', SCRIPT, 'ksapp-launch',
    spec.procsFile,
    spec.resolvConf ?? '',
    spec.user ? String(spec.user.uid) : '',
    spec.user ? String(spec.user.gid) : '',
    ...spec.command,
  ];
  return ['unshare', ['--mount', '--propagation', 'private', '--', ...shell]];
}

/** Text of a resolv.conf that sends every lookup to the given resolvers. */
export function resolvConfText(servers: readonly string[]): string {
  return `# written by ksapp: this app's lookups go through the tunnel\n${servers.map((s) => `nameserver ${s}`).join('\n')}\noptions edns0\n`;
}
