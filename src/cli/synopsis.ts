// A command's synopsis as parts, so that the help (plain text) and the man page (roff) render the same thing.
import { GLOBAL_OPTIONS, optionText, visible, type CommandSpec, type OptionSpec } from './table.js';

/** One piece of a synopsis. */
export type SynopsisPart =
  | { readonly kind: 'option'; readonly option: OptionSpec; readonly optional: boolean }
  | { readonly kind: 'oneOf'; readonly alternatives: ReadonlyArray<readonly SynopsisPart[]> }
  | { readonly kind: 'operand'; readonly text: string };

/** `cmd`'s synopsis after `ksapp CMD`: leading operands, options (the one-of group first), then `-- ...` (pure). */
export function synopsisParts(cmd: CommandSpec): SynopsisPart[] {
  const options = visible(cmd.options);
  const oneOf = cmd.oneOf ?? [];
  const optional = (option: OptionSpec): SynopsisPart => ({ kind: 'option', option, optional: true });
  const following = (anchor: string): SynopsisPart[] => options.filter((o) => cmd.after?.[o.name] === anchor).map(optional);
  const parts: SynopsisPart[] = [];
  const trailing = cmd.operands?.startsWith('--') === true;
  if (cmd.operands && !trailing) parts.push({ kind: 'operand', text: cmd.operands });
  for (const g of cmd.mentions ?? []) parts.push(optional(GLOBAL_OPTIONS.find((o) => o.name === g)!));
  if (oneOf.length > 0) {
    const alternatives = oneOf.map((n) => [{ kind: 'option', option: options.find((o) => o.name === n)!, optional: false } as const, ...following(n)]);
    parts.push({ kind: 'oneOf', alternatives });
  }
  for (const o of options) {
    if (oneOf.includes(o.name) || cmd.after?.[o.name] !== undefined) continue;
    parts.push(optional(o), ...following(o.name));
  }
  if (cmd.operands && trailing) parts.push({ kind: 'operand', text: cmd.operands });
  return parts;
}

/** A synopsis part as plain text: `[--name NAME]`, `[--dns ADDR]...`, `(--pid PID | --exe PATH)` (pure). */
export function plainPart(part: SynopsisPart): string {
  switch (part.kind) {
    case 'operand': return part.text;
    // A choice of one is a required option: no parentheses.
    case 'oneOf': return part.alternatives.length === 1 ? part.alternatives[0]!.map(plainPart).join(' ')
      : `(${part.alternatives.map((alt) => alt.map(plainPart).join(' ')).join(' | ')})`;
    case 'option': {
      const text = optionText(part.option);
      return part.optional ? `[${text}]${part.option.multiple ? '...' : ''}` : text;
    }
  }
}
