// What the three shells' completions need from the command table, decided once for all of them.
import { COMMANDS, GLOBAL_OPTIONS, visible, type CommandSpec, type OptionSpec, type ValueKind } from '../cli/table.js';

/** The first comment line of every generated file. */
export const GENERATED = "generated from ksapp's command table (src/cli/table.ts) by src/packaging: do not edit";

/** What a completion offers after an option: nothing (a flag), fixed words, or a kind of value. */
export type ValueCompletion = { readonly kind: 'flag' } | { readonly kind: 'choices'; readonly words: readonly string[] } | { readonly kind: ValueKind };

/** How `o`'s value is completed (pure). */
export function valueCompletion(o: OptionSpec): ValueCompletion {
  if (o.value === undefined) return { kind: 'flag' };
  if (o.choices) return { kind: 'choices', words: o.choices };
  return { kind: o.complete ?? 'text' };
}

/** What follows a command's options: a command line to run (`run -- COMMAND`), one word (an app NAME), or nothing. */
export function operandKind(cmd: CommandSpec): 'command' | 'word' | 'none' {
  if (cmd.operands === undefined) return 'none';
  return cmd.operands.startsWith('--') ? 'command' : 'word';
}

/** The commands a user is offered. */
export function completedCommands(): readonly CommandSpec[] {
  return COMMANDS;
}

/** A command's own advertised options. */
export function commandOptions(cmd: CommandSpec): OptionSpec[] {
  return visible(cmd.options);
}

/** The global options, offered with every command. */
export function globalOptions(): readonly OptionSpec[] {
  return GLOBAL_OPTIONS;
}

/** Every option name that takes a value, hidden ones too, so that a value is never taken for the command word. */
export function valueOptionNames(): string[] {
  const all = [...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options)].filter((o) => o.value !== undefined);
  return [...new Set(all.map((o) => o.name))];
}
