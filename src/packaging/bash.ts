// The bash completion for ksapp, made from the command table. It uses bash-completion's helpers when they are
// loaded (_init_completion, _filedir, _command_offset) and plain compgen otherwise.
import type { OptionSpec } from '../cli/table.js';
import { commandOptions, completedCommands, GENERATED, globalOptions, operandKind, valueCompletion, valueOptionNames } from './completion-model.js';

const q = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

const HELPERS = `_ksapp_words() { COMPREPLY=($(compgen -W "$1" -- "$cur")); }

_ksapp_files() {
    if declare -F _filedir >/dev/null 2>&1; then _filedir; return; fi
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
}

# IFACE[,IFACE...]: complete the name after the last comma
_ksapp_interfaces() {
    local head=
    [[ $cur == *,* ]] && head=\${cur%,*},
    COMPREPLY=($(compgen -P "$head" -W "$(command ls /sys/class/net 2>/dev/null)" -- "\${cur##*,}"))
    [[ \${#COMPREPLY[@]} -gt 0 ]] && compopt -o nospace 2>/dev/null
}

_ksapp_pids() { _ksapp_words "$(cd /proc && printf '%s\\n' [0-9]*)"; }

# the words after "--" are a command line of their own
_ksapp_command_line() {
    if declare -F _comp_command_offset >/dev/null 2>&1; then _comp_command_offset "$1"
    elif declare -F _command_offset >/dev/null 2>&1; then _command_offset "$1"
    elif (($1 == cword)); then COMPREPLY=($(compgen -c -- "$cur"))
    else _ksapp_files
    fi
}`;

/** The bash action that completes `o`'s value, or undefined for a flag. */
function valueAction(o: OptionSpec): string | undefined {
  const value = valueCompletion(o);
  switch (value.kind) {
    case 'flag': return undefined;
    case 'choices': return `_ksapp_words ${q(value.words.join(' '))}`;
    case 'file': return '_ksapp_files';
    case 'pid': return '_ksapp_pids';
    case 'interface': return '_ksapp_interfaces';
    case 'text': return ':';
  }
}

/** `case "$cmd $prev"` arms: a command's options, then the global ones (whatever the command). */
function valueArms(): string[] {
  const arms = completedCommands().flatMap((cmd) => commandOptions(cmd).map((o) => [`"${cmd.name} --${o.name}"`, valueAction(o)] as const));
  const globals = globalOptions().map((o) => [`*" --${o.name}"`, valueAction(o)] as const);
  return [...arms, ...globals].filter(([, action]) => action !== undefined).map(([pattern, action]) => `        ${pattern}) ${action}; return ;;`);
}

function optionWords(options: readonly OptionSpec[]): string[] {
  return options.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

function commandArms(): string[] {
  return completedCommands().map((cmd) => {
    const words = [...optionWords(commandOptions(cmd)), ...optionWords(globalOptions()), ...(operandKind(cmd) === 'command' ? ['--'] : [])];
    return `        ${cmd.name}) _ksapp_words ${q(words.join(' '))} ;;`;
  });
}

/** The file bash-completion loads for `ksapp` (pure). */
export function bashCompletion(): string {
  const commandWithLine = completedCommands().filter((c) => operandKind(c) === 'command').map((c) => c.name);
  return `# bash completion for ksapp(1) -*- shell-script -*-
# ${GENERATED}

${HELPERS}

_ksapp() {
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -s || return
    else
        words=("\${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
    fi

    # the command word: the first word that is neither an option nor an option's value
    local cmd= i
    for ((i = 1; i < cword; i++)); do
        case \${words[i]} in
            --)
                case $cmd in ${commandWithLine.join('|')}) _ksapp_command_line $((i + 1)); return ;; esac ;;
            ${valueOptionNames().map((n) => `--${n}`).join('|')}) ((i++)) ;;
            -*) ;;
            *) [[ -z $cmd ]] && cmd=\${words[i]} ;;
        esac
    done

    case "$cmd $prev" in
${valueArms().join('\n')}
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then _ksapp_words ${q(optionWords(globalOptions()).join(' '))}
        else _ksapp_words ${q(completedCommands().map((c) => c.name).join(' '))}
        fi
        return
    fi
    [[ $cur == -* ]] || return
    case $cmd in
${commandArms().join('\n')}
    esac
} &&
    complete -F _ksapp ksapp
`;
}
