// ksapp's command table: the one list of commands and options that the parser (args.ts), `ksapp help`
// (usage.ts), the man page and the bash, zsh and fish completions (src/packaging/) are all made from.
// A new option added here is parsed, shown in the help, documented and completed.
import type { VpnKind } from '../demo/vpn-kinds.js';
import type { DropPolicy } from '../supervisor/types.js';

/** What a completion offers for an option's value. */
export type ValueKind = 'text' | 'file' | 'pid' | 'interface';

/** One option of a command, or a global one. */
export interface OptionSpec {
  /** Long name, without the dashes. */
  readonly name: string;
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** The value's placeholder (NAME, FILE); absent for a flag. */
  readonly value?: string;
  /** The only values accepted; usage shows them instead of the placeholder, completions offer them. */
  readonly choices?: readonly string[];
  /** May be given more than once; every value is kept. */
  readonly multiple?: boolean;
  /** What completions offer for the value (default: nothing, free text). */
  readonly complete?: ValueKind;
  /** The environment variable that stands in for the option when it is absent. */
  readonly env?: string;
  /** One line for the help, the man page and the completions. */
  readonly help: string;
  /** For ksapp's own use (the daemon `ksapp run` starts): parsed, never advertised. */
  readonly hidden?: boolean;
}

/** One command word and what it takes. */
export interface CommandSpec {
  /** The command word. */
  readonly name: string;
  /** One line: what the command does. */
  readonly summary: string;
  /** Positional words, as usage shows them; one that starts with `--` goes after the options. */
  readonly operands?: string;
  /** The command's own options, in the order usage shows them. */
  readonly options: readonly OptionSpec[];
  /** Options of which exactly one is given; usage groups them as `(--a A | --b B)`. */
  readonly oneOf?: readonly string[];
  /** Options usage shows right after another one, by name (`--unit UNIT [--persist]`). */
  readonly after?: Readonly<Record<string, string>>;
  /** Global options this command's synopsis mentions (`daemon [--config FILE]`). */
  readonly mentions?: readonly string[];
}

const name: OptionSpec = { name: 'name', value: 'NAME', help: "the app's name (default: the command's base name, with -2, -3, ... added when taken)" };
const tunnel: OptionSpec = {
  name: 'tunnel', value: 'IFACE[,IFACE...]', complete: 'interface',
  help: "the tunnel the app rides, or its failover order (default: the config's tunnel, else the one wg*/tun* interface)",
};
/** The values of --on-drop, in the order messages list them. */
export const DROP_POLICIES: readonly DropPolicy[] = ['freeze', 'kill', 'block'];
const onDrop: OptionSpec = {
  name: 'on-drop', value: 'POLICY', choices: DROP_POLICIES,
  help: 'what happens to the app while its tunnel is down: freeze (the default; thawed when it is back), kill, or block (firewall only)',
};
/** The VPN clients `ksapp demo --vpn` can show (the demo's own list, src/demo/vpn-kinds.ts, checks this one's type). */
export const DEMO_VPNS: readonly VpnKind[] = ['wireguard', 'wg-quick', 'openvpn'];
const json: OptionSpec = { name: 'json', help: 'print JSON instead of the report' };

/** Options every command accepts. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: 'socket', value: 'PATH', complete: 'file', env: 'KSAPP_SOCKET', help: "the daemon's socket, by default /run/ksapp/ksapp.sock" },
  { name: 'config', value: 'FILE', complete: 'file', env: 'KSAPP_CONFIG', help: 'the config file, by default /etc/ksapp/config.yaml when it exists' },
  { name: 'help', short: 'h', help: 'print the help and exit' },
  { name: 'version', short: 'V', help: 'print the version and exit' },
];

/** Every command, in the order the help and the man page list them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run', summary: "start COMMAND confined to the VPN tunnel (starting a daemon when none answers); exits with the app's status",
    operands: '-- COMMAND [ARGS...]',
    options: [
      name, tunnel, onDrop,
      { name: 'allow-lan', help: 'let the app reach private, link-local and multicast addresses directly (not DNS)' },
      { name: 'restart', help: 'with --on-drop kill: start the same command again when the tunnel is back' },
      { name: 'dns', value: 'ADDR', multiple: true, help: "a resolver inside the tunnel for the app's DNS (repeatable)" },
      { name: 'as-root', help: 'run the app as root when not started through sudo' },
      { name: 'no-wait', help: 'refuse (exit 2) when the tunnel is down instead of starting the app frozen' },
    ],
  },
  {
    name: 'daemon', summary: 'start the daemon in the background; returns once it protects', mentions: ['config'],
    options: [
      { name: 'foreground', help: 'stay in the foreground' },
      { name: 'exit-when-idle', hidden: true, help: 'leave once nothing is protected and nobody is connected' },
      { name: 'tunnel', value: 'IFACE', hidden: true, help: 'the tunnel the app that started the daemon rides' },
      { name: 'dns', value: 'ADDR', multiple: true, hidden: true, help: 'resolvers inside the tunnel' },
    ],
  },
  { name: 'status', summary: 'show the tunnel and every protected app', options: [json] },
  {
    name: 'protect', summary: 'protect what already runs: a process, an executable, a systemd unit, a cgroup, a container or a routed interface',
    oneOf: ['pid', 'exe', 'unit', 'cgroup', 'container', 'iface'], after: { persist: 'unit' },
    options: [
      { name: 'pid', value: 'PID', complete: 'pid', help: 'a running process, its threads and its children' },
      { name: 'exe', value: 'PATH', complete: 'file', help: 'every process running this executable' },
      { name: 'unit', value: 'UNIT', help: "a systemd unit's group, protected where it is" },
      { name: 'persist', help: 'with --unit: the unit starts confined from now on (a drop-in)' },
      { name: 'cgroup', value: 'PATH', help: 'an existing group inside the cgroup2 mount, protected where it is' },
      { name: 'container', value: 'NAME', help: 'a running Podman or Docker container: its routed traffic, DNS and published ports go through the tunnel; its group is frozen' },
      { name: 'iface', value: 'IFACE', help: "everything routed in from an interface (a VM's tap); with --cgroup/--unit of the VM the kill switch freezes it, else blocks" },
      name, tunnel, onDrop,
    ],
  },
  {
    name: 'gateway', summary: 'router-level kill switch: LAN hosts routed by this machine reach the internet only through the tunnel, blocked when it fails',
    oneOf: ['lan'],
    options: [
      { name: 'lan', value: 'IFACE', help: 'the LAN interface the hosts send on (required)' },
      { name: 'host', value: 'ADDR|CIDR|MAC', multiple: true, help: 'a LAN host by address, range or MAC (repeatable; default: every host on the LAN interface)' },
      name, tunnel,
    ],
  },
  { name: 'release', operands: 'NAME', summary: 'undo a protection: processes go back to their old groups, the rules go', options: [] },
  { name: 'freeze', operands: 'NAME', summary: 'freeze an app (the tunnel coming back does not thaw it)', options: [] },
  { name: 'thaw', operands: 'NAME', summary: 'thaw an app (refused while its tunnel is down)', options: [] },
  { name: 'kill', operands: 'NAME', summary: "kill every process of an app", options: [] },
  { name: 'start', operands: 'NAME', summary: 'start an app the config gives a command', options: [] },
  {
    name: 'install-launcher', operands: 'NAME', summary: 'a menu entry that starts NAME through ksapp run',
    options: [{ name: 'desktop', value: 'FILE', complete: 'file', help: 'the desktop entry to wrap (default: the one found for NAME)' }],
  },
  {
    name: 'notify', summary: 'desktop notifications for your apps: frozen, killed, blocked, thawed, their tunnel down or back (runs as the desktop user; `ksapp setup` starts it at every login)',
    options: [],
  },
  { name: 'tui', summary: 'the live dashboard', options: [{ name: 'once', help: 'print one frame and exit (exit 1 when no daemon runs)' }] },
  { name: 'doctor', summary: 'check every prerequisite and say how to fix what is missing', options: [json] },
  { name: 'setup', summary: "install the systemd unit, the notification agent's autostart entry and a commented config", options: [{ name: 'dry-run', help: 'print what it would write, change nothing' }] },
  {
    name: 'demo', summary: 'the leak demo: a throwaway lab of network namespaces with a real VPN tunnel and its faults',
    options: [
      json, { name: 'keep', help: 'leave the lab up for exploring' },
      { name: 'vpn', value: 'KIND', choices: DEMO_VPNS, help: "the VPN client the lab's tunnel runs: wireguard (wireguard-go, the default), wg-quick or openvpn" },
    ],
  },
  { name: 'help', summary: 'print this help', options: [] },
  { name: 'version', summary: 'print the version', options: [] },
];

/** The command named `word`, or undefined. */
export function commandSpec(word: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === word);
}

/** The options a user is told about (hidden ones are left out). */
export function visible(options: readonly OptionSpec[]): OptionSpec[] {
  return options.filter((o) => !o.hidden);
}

/** `--name VALUE` as usage writes it: the choices when there are some, else the placeholder. */
export function optionText(o: OptionSpec): string {
  const value = o.choices ? o.choices.join('|') : o.value;
  return value === undefined ? `--${o.name}` : `--${o.name} ${value}`;
}
