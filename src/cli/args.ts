import { parseArgs, type ParseArgsConfig } from 'node:util';
import { appNameProblem, APP_NAME_RULE } from '../app-name.js';
import { unitNameProblem } from '../adopt/unit.js';
import { parseIp } from '../config/ip.js';
import { ifaceNameProblem } from '../iface-name.js';
import { isHostEntry, lanAppName } from '../config/hosts.js';
import { KsappError } from '../errors.js';
import type { VpnKind } from '../demo/vpn-kinds.js';
import type { DropPolicy } from '../supervisor/types.js';
import { COMMANDS, commandSpec, DEMO_VPNS, DROP_POLICIES, GLOBAL_OPTIONS, type OptionSpec } from './table.js';

/** A command line the user got wrong (exit status 2). */
export class UsageError extends KsappError {
  constructor(message: string, hint = 'run `ksapp help` for usage') {
    super(message, { code: 'USAGE', hint, exitCode: 2 });
  }
}

/** Options every command accepts. */
export interface GlobalOptions {
  readonly socket: string | undefined;
  readonly config: string | undefined;
}

/** A parsed command line. */
export type Command = GlobalOptions & (
  | { kind: 'run'; name?: string; tunnel?: string; tunnels?: string[]; onDrop: DropPolicy; allowLan: boolean; restart: boolean; dns: string[]; asRoot: boolean; noWait: boolean; command: string[] }
  | { kind: 'daemon'; foreground: boolean; exitWhenIdle: boolean; tunnel?: string; dns: string[] }
  | { kind: 'status' | 'doctor'; json: boolean }
  | { kind: 'gateway'; lan: string; hosts: string[]; name: string; tunnel?: string; tunnels?: string[] }
  | { kind: 'protect'; pid?: number; exe?: string; unit?: string; cgroup?: string; container?: string; iface?: string; name?: string; onDrop: DropPolicy; persist: boolean; tunnel?: string; tunnels?: string[] }
  | { kind: 'release' | 'freeze' | 'thaw' | 'kill' | 'start'; name: string }
  | { kind: 'tui'; once: boolean }
  | { kind: 'install-launcher'; name: string; desktop?: string }
  | { kind: 'demo'; json: boolean; keep: boolean; vpn?: VpnKind }
  | { kind: 'setup'; dryRun: boolean }
  | { kind: 'notify' }
  | { kind: 'help' | 'version' }
);

type Options = NonNullable<ParseArgsConfig['options']>;

/** The table's options as node:util parseArgs wants them (pure). */
function parseArgsOptions(options: readonly OptionSpec[]): Options {
  return Object.fromEntries(options.map((o) => [o.name, {
    type: o.value === undefined ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}),
  }])) as Options;
}

const GLOBAL = parseArgsOptions(GLOBAL_OPTIONS);
const PER_COMMAND = new Map(COMMANDS.map((c) => [c.name, parseArgsOptions(c.options)]));
const PROTECT_TARGETS = commandSpec('protect')?.oneOf ?? [];

/** Parses ksapp's argv (without node and the script) into a Command; throws UsageError (pure). */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Command {
  const dashdash = argv.indexOf('--');
  const head = dashdash === -1 ? [...argv] : argv.slice(0, dashdash);
  const tail = dashdash === -1 ? [] : argv.slice(dashdash + 1);
  // A first, lenient pass skips option values (`--socket /x status`) to find the command word.
  const allOptions = Object.assign({}, GLOBAL, ...PER_COMMAND.values()) as Options;
  const kind = parseArgs({ args: head, options: allOptions, allowPositionals: true, strict: false }).positionals[0] ?? 'help';
  const spec = PER_COMMAND.get(kind);
  if (!spec) throw new UsageError(`unknown command "${kind}"`);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: head, options: { ...GLOBAL, ...spec }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${kind}: ${(error as Error).message.replace(/\. To specify.*$/s, '')}`);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const positionals = parsed.positionals.slice(1);
  const global: GlobalOptions = {
    socket: (v.socket as string | undefined) ?? env.KSAPP_SOCKET,
    config: (v.config as string | undefined) ?? env.KSAPP_CONFIG,
  };
  if (v.help) return { ...global, kind: 'help' };
  if (v.version) return { ...global, kind: 'version' };
  const str = (key: string): string | undefined => v[key] as string | undefined;
  switch (kind) {
    case 'run': {
      if (positionals.length > 0) throw new UsageError(`run: unexpected "${positionals[0]}" before --`, 'put the command after --: ksapp run [options] -- COMMAND [ARGS...]');
      if (dashdash === -1 || tail.length === 0) throw new UsageError('run: missing `-- COMMAND`', 'put the command after --: ksapp run [options] -- COMMAND [ARGS...]');
      return {
        ...global, kind, name: appName(kind, str('name')), ...tunnelList(str('tunnel')), onDrop: dropPolicy(str('on-drop')),
        allowLan: v['allow-lan'] === true, restart: v.restart === true, dns: dnsList(v.dns as string[] | undefined), asRoot: v['as-root'] === true, noWait: v['no-wait'] === true, command: tail,
      };
    }
    case 'protect': {
      const targets = PROTECT_TARGETS.filter((k) => v[k] !== undefined);
      // --iface may name its VM's group too: the group is what the kill switch freezes.
      const ifaceWithGroup = v.iface !== undefined && targets.length === 2 && (v.unit !== undefined || v.cgroup !== undefined);
      if (targets.length !== 1 && !ifaceWithGroup) throw new UsageError(`protect: give exactly one of ${PROTECT_TARGETS.map((k) => `--${k}`).join(', ')} (--iface may add --cgroup or --unit)`);
      const ifaceProblem = str('iface') === undefined ? undefined : ifaceNameProblem(str('iface')!);
      if (ifaceProblem) throw new UsageError(`protect: --iface ${ifaceProblem}`);
      const pid = str('pid') === undefined ? undefined : Number(str('pid'));
      if (pid !== undefined && (!Number.isSafeInteger(pid) || pid <= 0)) throw new UsageError(`protect: --pid must be a positive integer, got "${str('pid')}"`);
      const persist = v.persist === true;
      if (persist && str('unit') === undefined) throw new UsageError('protect: --persist goes with --unit (it makes the unit start confined from now on)');
      const unitProblem = persist ? unitNameProblem(str('unit')!) : undefined;
      if (unitProblem) throw new UsageError(`protect: --unit ${unitProblem}`, 'give the full unit name, e.g. qbittorrent-nox.service');
      return {
        ...global, kind, pid, exe: str('exe'), unit: str('unit'), cgroup: str('cgroup'), container: str('container'), iface: str('iface'),
        name: appName(kind, str('name')), persist, ...tunnelList(str('tunnel')),
        // An interface without its VM's group has nothing to freeze: it is blocked unless told otherwise (and refused then).
        onDrop: str('on-drop') === undefined && v.iface !== undefined && !ifaceWithGroup ? 'block' : dropPolicy(str('on-drop')),
      };
    }
    case 'gateway': {
      const lan = str('lan');
      if (lan === undefined) throw new UsageError('gateway: --lan IFACE is required', 'name the LAN interface the hosts send on, e.g. --lan eth1');
      const lanProblem = ifaceNameProblem(lan);
      if (lanProblem) throw new UsageError(`gateway: --lan ${lanProblem}`);
      const hosts = ((v.host as string[] | undefined) ?? []).map((h) => h.trim().toLowerCase());
      for (const h of hosts) if (!isHostEntry(h)) throw new UsageError(`gateway: --host "${h}" is not an address, a range with no host bits, or a MAC`, 'e.g. --host 192.168.1.0/24 --host fd00:1::/64 --host aa:bb:cc:dd:ee:ff');
      return { ...global, kind, lan, hosts, name: appName(kind, str('name') ?? lanAppName(lan)), ...tunnelList(str('tunnel')) };
    }
    case 'release': case 'freeze': case 'thaw': case 'kill': case 'start': {
      const [name, extra] = positionals;
      if (!name || extra !== undefined) throw new UsageError(`${kind}: give exactly one app NAME`, `ksapp ${kind} NAME (see \`ksapp status\` for names)`);
      return { ...global, kind, name: appName(kind, name) };
    }
    case 'daemon':
      return {
        ...global, kind, foreground: v.foreground === true, exitWhenIdle: v['exit-when-idle'] === true,
        tunnel: tunnelName(str('tunnel')), dns: dnsList(v.dns as string[] | undefined),
      };
    case 'status': case 'doctor': return { ...global, kind, json: v.json === true };
    case 'tui': return { ...global, kind, once: v.once === true };
    case 'notify': {
      if (positionals.length > 0) throw new UsageError(`notify: unexpected "${positionals[0]}"`, 'ksapp notify takes no operands');
      return { ...global, kind };
    }
    case 'install-launcher': {
      const [name, extra] = positionals;
      if (!name || extra !== undefined) throw new UsageError('install-launcher: give exactly one app NAME', 'ksapp install-launcher NAME [--desktop FILE]');
      return { ...global, kind, name: appName(kind, name), desktop: str('desktop') };
    }
    case 'demo': {
      const vpn = str('vpn') === undefined ? undefined : oneOfWords('--vpn', DEMO_VPNS, str('vpn')!);
      return { ...global, kind, json: v.json === true, keep: v.keep === true, ...(vpn ? { vpn } : {}) };
    }
    case 'setup': return { ...global, kind, dryRun: v['dry-run'] === true };
    default: return { ...global, kind: kind as 'help' | 'version' };
  }
}

/** An app name given on the command line, checked by the same rule as the socket and the config. */
function appName<T extends string | undefined>(kind: string, name: T): T {
  const problem = name === undefined ? undefined : appNameProblem(name);
  if (problem) throw new UsageError(`${kind}: the app name ${problem}`, `an app name is ${APP_NAME_RULE}`);
  return name;
}

/** A --tunnel interface name, checked by the rule the config and the daemon use. */
function tunnelName(name: string | undefined): string | undefined {
  const problem = name === undefined ? undefined : ifaceNameProblem(name);
  if (problem) throw new UsageError(`--tunnel ${problem}`, 'name it as `ip link` shows it, e.g. wg0');
  return name;
}

/**
 * --tunnel A,B: an app's tunnel, or its failover order. `tunnel` is the
 * first (the one a daemon started for it watches first); `tunnels`, given
 * with two or more, the whole order (see `tunnelsOf`).
 */
function tunnelList(value: string | undefined): { tunnel?: string; tunnels?: string[] } {
  if (value === undefined) return {};
  const tunnels = value.split(',').map((t) => t.trim());
  for (const t of tunnels) tunnelName(t);
  const twice = tunnels.find((t, i) => tunnels.indexOf(t) !== i);
  if (twice !== undefined) throw new UsageError(`--tunnel names ${twice} twice`, 'give each tunnel once, in the order the app should try them: --tunnel wg0,wg1');
  return tunnels.length > 1 ? { tunnel: tunnels[0]!, tunnels } : { tunnel: tunnels[0]! };
}

/** An app's tunnels as the command line gave them, undefined for the daemon's primary. */
export function tunnelsOf(cmd: { tunnel?: string; tunnels?: string[] }): string[] | undefined {
  return cmd.tunnels ?? (cmd.tunnel === undefined ? undefined : [cmd.tunnel]);
}

function dnsList(values: string[] | undefined): string[] {
  for (const value of values ?? []) {
    if (parseIp(value) === undefined) throw new UsageError(`--dns must be an IP address, got "${value}"`);
  }
  return values ?? [];
}

function dropPolicy(value: string | undefined): DropPolicy {
  if (value === undefined) return 'freeze';
  return oneOfWords('--on-drop', DROP_POLICIES, value);
}

/** `value` when it is one of `words` (an option's choices in the table); else a UsageError naming them. */
function oneOfWords<T extends string>(option: string, words: readonly T[], value: string): T {
  const word = words.find((w) => w === value);
  if (word !== undefined) return word;
  throw new UsageError(`${option} must be ${wordList(words)}, got "${value}"`);
}

/** `a, b or c` (pure). */
function wordList(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}
