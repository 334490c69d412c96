// The systemd unit ksapp ships and the commented config `ksapp setup` installs (pure text).

/** Where the installed daemon's program is. */
export interface UnitPaths {
  /** The node binary. */
  readonly node: string;
  /** ksapp's CLI script. */
  readonly cli: string;
  /** The config file the daemon reads. */
  readonly config: string;
}

/**
 * ksapp.service: in force before the network is. `DefaultDependencies=no`
 * and `Before=network-pre.target` put it ahead of every network manager and
 * VPN client; `Type=forking` with `ksapp daemon` (which returns once the
 * daemon answers, after its rules, routing and exec guard are in place)
 * makes "started" mean "protecting", so units ordered after it start
 * confined. A tunnel that does not exist yet is waited for.
 */
export function daemonUnit(p: UnitPaths): string {
  return `# Installed by \`ksapp setup\`. The rules are kernel state: stopping this service never unconfines an app.
[Unit]
Description=ksapp per-application VPN kill switch
DefaultDependencies=no
After=local-fs.target systemd-tmpfiles-setup.service
Before=network-pre.target shutdown.target
Wants=network-pre.target
Conflicts=shutdown.target

[Service]
Type=forking
ExecStart=${p.node} ${p.cli} daemon --config ${p.config}
# The daemon's own cgroup subtree: app groups live below it.
Delegate=yes
# Stopping the service must not kill the protected apps.
KillMode=process
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
`;
}

/** The commented config `ksapp setup` writes when none exists (it must parse as a valid config). */
export const CONFIG_TEMPLATE = `# ksapp config (see the README's "Config file"). Every setting is optional.
# The daemon reloads this file when it changes; an invalid edit is reported and the last good one stays.

# tunnel:
#   interface: wg0            # or auto-detected when exactly one wg*/tun* exists; a missing one is waited for
#   handshakeTimeout: 180s    # WireGuard: a handshake older than this = down
#   probe: { address: 10.66.0.1, interval: 500ms, failures: 3 }
# lan: { allow: false }       # let protected apps reach private ranges directly
# dns: { servers: [10.66.0.1] }   # protected apps' DNS goes here, through the tunnel
# cgroupParent: ksapp

# Apps confined however they are started. A rule naming an exe is confined at exec, before its
# first instruction; name- or user-only rules are adopted just after they start.
# apps:
#   - name: qbittorrent
#     match: { exe: /usr/bin/qbittorrent }
#     onDrop: freeze
`;
