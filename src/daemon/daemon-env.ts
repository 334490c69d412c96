/** The PATH a daemon started through sudo gets: the caller's PATH would choose which `nft` and `ip` root runs. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The environment of a daemon that a client starts (pure). Only what the
 * daemon needs: the caller's environment would otherwise reach a root process
 * that outlives it. The `KSAPP_*` overrides (other binaries, another cgroup
 * root, an event log file) pass only from root's own shell, never through
 * sudo, where they would be another user's choice.
 */
export function daemonEnv(env: NodeJS.ProcessEnv, uid: number): Record<string, string> {
  const viaSudo = env.SUDO_UID !== undefined || env.SUDO_USER !== undefined;
  const out: Record<string, string> = { PATH: viaSudo || !env.PATH ? SAFE_PATH : env.PATH };
  // Under systemd (`ksapp setup`'s Type=forking unit) this tells the daemon its cgroup is delegated to it.
  if (env.INVOCATION_ID && !viaSudo) out.INVOCATION_ID = env.INVOCATION_ID;
  if (uid === 0 && !viaSudo) {
    for (const [key, value] of Object.entries(env)) if (key.startsWith('KSAPP_') && value !== undefined) out[key] = value;
  }
  return out;
}
