// The systemd unit ksapp ships and the commented config `ksapp setup` installs (pure text).

/** A word of an Exec line, quoted when it holds a space, a quote or a backslash (systemd.service "Command lines"). */
const q = (word: string): string => (/[\s"\\]/.test(word) ? `"${word.replace(/(["\\])/g, '\\$1')}"` : word);

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
ExecStart=${q(p.node)} ${q(p.cli)} daemon --config ${q(p.config)}
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

/** What a unit's drop-in runs to protect it. */
export interface DropInSpec extends UnitPaths {
  readonly unit: string;
  readonly app: string;
  readonly onDrop: 'freeze' | 'kill' | 'block';
}

/**
 * The drop-in (`UNIT.d/ksapp.conf`) that makes a unit start confined: it
 * needs ksapp and starts after it, and before any of the unit's own
 * processes run, ExecStartPre (with full privileges: "+") has the daemon
 * protect the unit's group in place. Should that fail, the unit does not
 * start: it never runs unconfined.
 */
export function unitDropIn(d: DropInSpec): string {
  return `# Installed by \`ksapp setup\` (app ${d.app}): ${d.unit} starts confined to the VPN tunnel.
[Unit]
Requires=ksapp.service
After=ksapp.service

[Service]
ExecStartPre=+${q(d.node)} ${q(d.cli)} --config ${q(d.config)} protect --unit %n --name ${d.app} --on-drop ${d.onDrop}
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
#   - name: downloads           # a systemd unit, started confined (\`ksapp setup\` installs its drop-in)
#     match: { unit: qbittorrent-nox.service }
`;
