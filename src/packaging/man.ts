// The man page ksapp(1), made from the command table (src/cli/table.ts), as `ksapp help` and the completions are.
import { synopsisParts, type SynopsisPart } from '../cli/synopsis.js';
import { COMMANDS, GLOBAL_OPTIONS, visible, type CommandSpec, type OptionSpec } from '../cli/table.js';

/** Text made safe for roff: backslashes, every dash (so options copy as ASCII), a leading dot or quote (pure). */
export function roff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1');
}

const sentence = (text: string): string => `${text[0]!.toUpperCase()}${text.slice(1)}.`;
const bold = (text: string): string => `\\fB${roff(text)}\\fR`;
const italic = (text: string): string => `\\fI${roff(text)}\\fR`;

/** `--name NAME` in roff: the option bold, its placeholder italic, its choices bold. */
function roffOption(o: OptionSpec): string {
  const value = o.choices ? ` ${o.choices.map(bold).join('|')}` : o.value === undefined ? '' : ` ${italic(o.value)}`;
  return `${bold(`--${o.name}`)}${value}`;
}

/** Operands in roff: `--` bold, UPPER-CASE words italic, the rest as is. */
function roffOperands(text: string): string {
  return text.split(/(\b[A-Z][A-Z_]+\b|--)/).map((p) => (p === '--' ? bold(p) : /^[A-Z][A-Z_]+$/.test(p) ? italic(p) : roff(p))).join('');
}

function roffPart(part: SynopsisPart): string {
  switch (part.kind) {
    case 'operand': return roffOperands(part.text);
    case 'oneOf': return `(${part.alternatives.map((alt) => alt.map(roffPart).join(' ')).join(' | ')})`;
    case 'option': return part.optional ? `[${roffOption(part.option)}]${part.option.multiple ? '...' : ''}` : roffOption(part.option);
  }
}

function synopsis(cmd: CommandSpec): string[] {
  return ['.PP', [bold(`ksapp ${cmd.name}`), ...synopsisParts(cmd).map(roffPart)].join(' ')];
}

function optionItems(options: readonly OptionSpec[]): string[] {
  return options.flatMap((o) => ['.TP', `${o.short ? `${bold(`-${o.short}`)}, ` : ''}${roffOption(o)}`, roff(sentence(`${o.help}${o.env ? ` (environment: ${o.env})` : ''}`))]);
}

function commandItem(cmd: CommandSpec): string[] {
  const options = visible(cmd.options);
  const head = cmd.operands && !cmd.operands.startsWith('--') ? `${bold(`ksapp ${cmd.name}`)} ${roffOperands(cmd.operands)}` : bold(`ksapp ${cmd.name}`);
  return ['.TP', head, roff(sentence(cmd.summary)), ...(options.length > 0 ? ['.RS', ...optionItems(options), '.RE'] : [])];
}

const DESCRIPTION = [
  'ksapp starts a program confined to a VPN tunnel: its packets can leave the machine only through the tunnel interface, ' +
  "its DNS goes to the tunnel's resolver, and when the tunnel fails the program is frozen (or killed, or only blocked) " +
  'until the tunnel is back. Every other program on the machine keeps using the normal connection.',
  'The confinement is kernel state (a cgroup v2 group, an nftables table and a policy-routing rule), so it holds even if ' +
  'ksapp crashes or is killed. ksapp needs root: run it through sudo, and the app runs as the invoking user.',
];

const EXAMPLES: ReadonlyArray<readonly [string, string]> = [
  ['sudo ksapp run -- qbittorrent', 'Start qbittorrent confined to the one wg*/tun* tunnel; frozen while the tunnel is down.'],
  ['sudo ksapp run --tunnel wg0,wg1 --on-drop kill --restart -- transmission-daemon -f', 'Ride wg0, fail over to wg1; with neither, kill the app and start it again when a tunnel is back.'],
  ['sudo ksapp protect --pid 4242 --name browser', 'Move a running process and its children into the tunnel.'],
  ['ksapp status --json', 'The tunnel and every protected app, as JSON.'],
  ['sudo ksapp doctor', 'Check the kernel, nftables, iproute2 and the native addons, with the fix for each missing piece.'],
];

const FILES: ReadonlyArray<readonly [string, string]> = [
  ['/etc/ksapp/config.yaml', 'The config file (watched and reloaded on change); ksapp setup writes a commented one.'],
  ['/run/ksapp/ksapp.sock', "The daemon's socket; SOCKET.events.jsonl next to it is the event log."],
  ['/etc/systemd/system/ksapp.service', 'The unit ksapp setup installs, so protection is in force before any network manager starts.'],
];

/** The page ksapp(1) in roff (man macros) for `version` (pure). */
export function manPage(version: string): string {
  const globals = GLOBAL_OPTIONS.filter((o) => o.env);
  return [
    `.TH KSAPP 1 "" "ksapp ${roff(version)}" "User Commands"`,
    '.SH NAME',
    'ksapp \\- per\\-application VPN kill switch for Linux',
    '.SH SYNOPSIS',
    '.nh',
    '.ad l',
    ...COMMANDS.flatMap(synopsis),
    '.ad',
    '.hy',
    '.SH DESCRIPTION',
    ...DESCRIPTION.flatMap((p) => ['.PP', roff(p)]),
    '.SH COMMANDS',
    ...COMMANDS.flatMap(commandItem),
    '.SH GLOBAL OPTIONS',
    'Every command accepts these.',
    ...optionItems(GLOBAL_OPTIONS),
    '.SH ENVIRONMENT',
    ...globals.flatMap((o) => ['.TP', bold(o.env!), roff(`Stands in for --${o.name} when it is not given.`)]),
    '.TP', bold('SUDO_UID, SUDO_GID'), roff('Set by sudo: ksapp run starts the app as this user.'),
    '.SH FILES',
    ...FILES.flatMap(([file, what]) => ['.TP', italic(file), roff(what)]),
    '.SH EXIT STATUS',
    roff("0 success; 1 runtime failure; 2 bad usage or bad config; ksapp run exits with the app's own status (128+N for signal N)."),
    '.SH EXAMPLES',
    ...EXAMPLES.flatMap(([command, what]) => ['.TP', bold(command), roff(what)]),
    '.SH SEE ALSO',
    `${bold('nft')}(8), ${bold('ip')}(8), ${bold('wg')}(8), ${bold('wg-quick')}(8), ${bold('openvpn')}(8), ${bold('systemd.exec')}(5)`,
    '',
  ].join('\n');
}
