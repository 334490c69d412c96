/** The help text `ksapp help` prints. */
export const USAGE = `ksapp — per-application VPN kill switch

Usage:
  ksapp run [--name NAME] [--tunnel IFACE[,IFACE...]] [--on-drop freeze|kill|block]
            [--allow-lan] [--restart] [--dns ADDR]... [--as-root] [--no-wait] -- COMMAND [ARGS...]
            (--tunnel A,B: its tunnel, or a failover order;
             --as-root: run the app as root when not started through sudo;
             --no-wait: refuse when the tunnel is down instead of starting frozen)
  ksapp daemon [--config FILE] [--foreground]
  ksapp status [--json]
  ksapp protect (--pid PID | --exe PATH | --unit UNIT [--persist] | --cgroup PATH) [--name NAME] [--tunnel IFACE[,IFACE...]] [--on-drop ...]
  ksapp release NAME | freeze NAME | thaw NAME | kill NAME
  ksapp start NAME            (an app the config gives a command)
  ksapp install-launcher NAME [--desktop FILE]   (menu entry that starts NAME through ksapp run)
  ksapp tui [--once]
  ksapp doctor [--json]
  ksapp setup [--dry-run]     (installs the systemd unit and a commented config)
  ksapp demo [--json] [--keep]

Global options: --socket PATH (env KSAPP_SOCKET), --config FILE (env KSAPP_CONFIG)
Exit status: 0 success, 1 runtime failure, 2 bad usage or config; run exits with the app's status.
`;
