// The fish completion (ksapp.fish, for vendor_completions.d), made from the command table.
import type { CommandSpec, OptionSpec } from '../cli/table.js';
import { commandOptions, completedCommands, GENERATED, globalOptions, operandKind, valueCompletion, valueOptionNames } from './completion-model.js';

/** A word in single quotes for fish, where only \\ and \' are escapes (pure). */
const q = (text: string): string => `'${text.replace(/[\\']/g, '\\$&')}'`;

const HELPERS = String.raw`# the command word: the first word that is neither an option nor an option's value
function __ksapp_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    while set -q tokens[1]
        switch $tokens[1]
            case --
                return 1
            case VALUE_OPTIONS
                set -e tokens[1]
            case '-*'
            case '*'
                echo $tokens[1]
                return 0
        end
        set -e tokens[1]
    end
    return 1
end

# true once a -- has ended ksapp's own options
function __ksapp_after_dashdash
    contains -- -- (commandline -opc)
end

# true while completing the options of command $argv[1] (before any --)
function __ksapp_using
    set -l cmd (__ksapp_command); or return 1
    test "$cmd" = "$argv[1]"; and not __ksapp_after_dashdash
end

# true while completing the command line after ksapp $argv[1] ... --
function __ksapp_line_of
    set -l cmd (__ksapp_command); or return 1
    test "$cmd" = "$argv[1]"; and __ksapp_after_dashdash
end

# the words after -- are a command line of their own: complete them as one
function __ksapp_command_line
    set -l tokens (commandline -opc)
    set -l rest $tokens
    set -e rest[1..(contains -i -- -- $tokens)]
    set -l current (commandline -ct)
    complete -C (string join ' ' -- (string escape -- $rest) "$current")
end`;

/** The `complete` arguments that complete `o`'s value. */
function valueArgs(o: OptionSpec): string {
  const value = valueCompletion(o);
  switch (value.kind) {
    case 'flag': return '';
    case 'choices': return ` -x -a ${q(value.words.join(' '))}`;
    case 'file': return ' -r -F';
    case 'pid': return " -x -a '(__fish_complete_pids)'";
    case 'interface': return " -x -a '(__fish_print_interfaces)'";
    case 'text': return ' -x';
  }
}

function optionLine(o: OptionSpec, condition: string): string {
  const short = o.short ? ` -s ${o.short}` : '';
  return `complete -c ksapp -n ${q(condition)}${short} -l ${o.name}${valueArgs(o)} -d ${q(o.help)}`;
}

function commandLines(cmd: CommandSpec): string[] {
  const options = commandOptions(cmd).map((o) => optionLine(o, `__ksapp_using ${cmd.name}`));
  const line = operandKind(cmd) === 'command'
    ? [`complete -c ksapp -n ${q(`__ksapp_line_of ${cmd.name}`)} -x -a '(__ksapp_command_line)'`]
    : [];
  return [`# ksapp ${cmd.name}`, ...options, ...line];
}

/** The file fish loads for `ksapp` (pure). */
export function fishCompletion(): string {
  const valueOptions = valueOptionNames().map((n) => `--${n}`).join(' ');
  const commands = completedCommands().map((c) => `complete -c ksapp -n 'not __ksapp_command; and not __ksapp_after_dashdash' -a ${c.name} -d ${q(c.summary)}`);
  return [
    '# fish completion for ksapp(1)',
    `# ${GENERATED}`,
    '',
    HELPERS.replace('VALUE_OPTIONS', valueOptions),
    '',
    'complete -c ksapp -f',
    ...commands,
    ...globalOptions().map((o) => optionLine(o, 'not __ksapp_after_dashdash')),
    ...completedCommands().flatMap(commandLines),
    '',
  ].join('\n');
}
