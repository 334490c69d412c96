import { parseArgs, type ParseArgsConfig } from 'node:util';
import { appNameProblem, APP_NAME_RULE } from '../app-name.js';
import { unitNameProblem } from '../adopt/unit.js';
import { parseIp } from '../config/ip.js';
import { ifaceNameProblem } from '../iface-name.js';
import { KsappError } from '../errors.js';
import type { DropPolicy } from '../supervisor/types.js';

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
  | { kind: 'protect'; pid?: number; exe?: string; unit?: string; cgroup?: string; name?: string; onDrop: DropPolicy; persist: boolean; tunnel?: string; tunnels?: string[] }
  | { kind: 'release' | 'freeze' | 'thaw' | 'kill' | 'start'; name: string }
  | { kind: 'tui'; once: boolean }
  | { kind: 'install-launcher'; name: string; desktop?: string }
  | { kind: 'demo'; json: boolean; keep: boolean }
  | { kind: 'setup'; dryRun: boolean }
  | { kind: 'help' | 'version' }
);

type Options = NonNullable<ParseArgsConfig['options']>;
const GLOBAL: Options = { socket: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } };
const PER_COMMAND: Record<string, Options> = {
  run: {
    name: { type: 'string' }, tunnel: { type: 'string' }, 'on-drop': { type: 'string' },
    'allow-lan': { type: 'boolean' }, restart: { type: 'boolean' }, dns: { type: 'string', multiple: true }, 'as-root': { type: 'boolean' }, 'no-wait': { type: 'boolean' },
  },
  daemon: { foreground: { type: 'boolean' }, 'exit-when-idle': { type: 'boolean' }, tunnel: { type: 'string' }, dns: { type: 'string', multiple: true } },
  status: { json: { type: 'boolean' } },
  doctor: { json: { type: 'boolean' } },
  protect: { pid: { type: 'string' }, exe: { type: 'string' }, unit: { type: 'string' }, cgroup: { type: 'string' }, name: { type: 'string' }, 'on-drop': { type: 'string' }, persist: { type: 'boolean' }, tunnel: { type: 'string' } },
  release: {}, freeze: {}, thaw: {}, kill: {}, start: {},
  tui: { once: { type: 'boolean' } },
  'install-launcher': { desktop: { type: 'string' } },
  demo: { json: { type: 'boolean' }, keep: { type: 'boolean' } },
  setup: { 'dry-run': { type: 'boolean' } },
  help: {}, version: {},
};

/** Parses ksapp's argv (without node and the script) into a Command; throws UsageError (pure). */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Command {
  const dashdash = argv.indexOf('--');
  const head = dashdash === -1 ? [...argv] : argv.slice(0, dashdash);
  const tail = dashdash === -1 ? [] : argv.slice(dashdash + 1);
  // A first, lenient pass skips option values (`--socket /x status`) to find the command word.
  const allOptions = Object.assign({}, GLOBAL, ...Object.values(PER_COMMAND)) as Options;
  const kind = parseArgs({ args: head, options: allOptions, allowPositionals: true, strict: false }).positionals[0] ?? 'help';
  const spec = PER_COMMAND[kind];
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
      const targets = ['pid', 'exe', 'unit', 'cgroup'].filter((k) => v[k] !== undefined);
      if (targets.length !== 1) throw new UsageError('protect: give exactly one of --pid, --exe, --unit, --cgroup');
      const pid = str('pid') === undefined ? undefined : Number(str('pid'));
      if (pid !== undefined && (!Number.isSafeInteger(pid) || pid <= 0)) throw new UsageError(`protect: --pid must be a positive integer, got "${str('pid')}"`);
      const persist = v.persist === true;
      if (persist && str('unit') === undefined) throw new UsageError('protect: --persist goes with --unit (it makes the unit start confined from now on)');
      const unitProblem = persist ? unitNameProblem(str('unit')!) : undefined;
      if (unitProblem) throw new UsageError(`protect: --unit ${unitProblem}`, 'give the full unit name, e.g. qbittorrent-nox.service');
      return { ...global, kind, pid, exe: str('exe'), unit: str('unit'), cgroup: str('cgroup'), name: appName(kind, str('name')), onDrop: dropPolicy(str('on-drop')), persist, ...tunnelList(str('tunnel')) };
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
    case 'install-launcher': {
      const [name, extra] = positionals;
      if (!name || extra !== undefined) throw new UsageError('install-launcher: give exactly one app NAME', 'ksapp install-launcher NAME [--desktop FILE]');
      return { ...global, kind, name: appName(kind, name), desktop: str('desktop') };
    }
    case 'demo': return { ...global, kind, json: v.json === true, keep: v.keep === true };
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
  if (value === 'freeze' || value === 'kill' || value === 'block') return value;
  throw new UsageError(`--on-drop must be freeze, kill or block, got "${value}"`);
}
