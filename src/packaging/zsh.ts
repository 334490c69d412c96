// The zsh completion (_ksapp, for a directory in $fpath), made from the command table.
import type { CommandSpec, OptionSpec } from '../cli/table.js';
import { commandOptions, completedCommands, GENERATED, globalOptions, operandKind, valueCompletion } from './completion-model.js';

/** A word in single quotes for zsh (pure). */
const q = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

/** Text inside an _arguments `[...]` description: brackets and backslashes escaped (pure). */
const described = (text: string): string => text.replace(/([\\[\]])/g, '\\$1');

/** The `:message:action` after an option that takes a value. */
function valueSpec(o: OptionSpec): string {
  const value = valueCompletion(o);
  const message = (o.value ?? o.name).toLowerCase().replace(/[[\]:]/g, '').replace(/,.*$/, '');
  switch (value.kind) {
    case 'flag': return '';
    case 'choices': return `:${message}:(${value.words.join(' ')})`;
    case 'file': return `:${message}:_files`;
    case 'pid': return `:${message}:_pids`;
    case 'interface': return `:${message}:_sequence _net_interfaces`;
    case 'text': return `:${message}: `;
  }
}

/** One _arguments spec: `(excluded)*--name=[help]:message:action` (pure). */
function zshOptionSpec(o: OptionSpec, exclusive: readonly string[] = []): string[] {
  const exclude = exclusive.length > 0 ? `(${exclusive.map((n) => `--${n}`).join(' ')})` : '';
  const repeat = o.multiple ? '*' : '';
  const takes = o.value === undefined ? '' : '=';
  const tail = `[${described(o.help)}]${valueSpec(o)}`;
  if (o.short) return [`'(- *)'{-${o.short},--${o.name}}${q(tail)}`];
  return [q(`${exclude}${repeat}--${o.name}${takes}${tail}`)];
}

function commandArm(cmd: CommandSpec): string {
  const options = commandOptions(cmd).flatMap((o) => zshOptionSpec(o, cmd.oneOf?.includes(o.name) ? cmd.oneOf : []));
  const operands = operandKind(cmd) === 'command' ? [q('*:: :{ _ksapp_command_line }')] : operandKind(cmd) === 'word' ? [q(`1:${cmd.operands!.toLowerCase()}: `)] : [];
  const specs = [...options, ...operands];
  return `        (${cmd.name})\n          _arguments $globals${specs.map((s) => ` \\\n            ${s}`).join('')} && ret=0 ;;`;
}

/** The file zsh autoloads as _ksapp (pure). */
export function zshCompletion(): string {
  const commands = completedCommands().map((c) => `    ${q(`${c.name}:${c.summary}`)}`);
  return `#compdef ksapp
# zsh completion for ksapp(1)
# ${GENERATED}

# the words after -- are a command line of their own: complete them as one
(( $+functions[_ksapp_command_line] )) ||
_ksapp_command_line() {
  local dashdash=\${words[(i)--]}
  (( dashdash < CURRENT )) || return 1
  shift dashdash words
  (( CURRENT -= dashdash ))
  if (( CURRENT == 1 )); then _command_names -e; else _normal; fi
}

local curcontext=$curcontext state state_descr line ret=1
typeset -A opt_args
local -a globals subcommands
globals=(
${globalOptions().flatMap((o) => zshOptionSpec(o)).map((s) => `  ${s}`).join('\n')}
)
subcommands=(
${commands.join('\n')}
)

_arguments -C $globals ': :->command' '*:: :->args' && ret=0
case $state in
  (command)
    _describe -t commands 'ksapp command' subcommands && ret=0 ;;
  (args)
    curcontext=\${curcontext%:*:*}:ksapp-$words[1]:
    case $words[1] in
${completedCommands().map(commandArm).join('\n')}
    esac ;;
esac
return ret
`;
}
