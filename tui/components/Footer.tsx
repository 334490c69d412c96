import { Text } from 'ink';
import { useTone } from '../hooks/use-color.js';
import type { Feedback } from '../feedback.js';
import type { Mode } from '../keys.js';

/** The key line's text in normal mode. */
export const KEYS_LINE = '↑↓/j select · f freeze · t thaw · k kill · r release · ? help · q quit';

/** Rows the footer takes: the key line plus the feedback (its hint on a line of its own). */
export function footerRows(feedback: Feedback | null): number {
  if (feedback === null) return 1;
  return feedback.hint === undefined ? 2 : 3;
}

/** Props: the mode (for a y/n question), the last action's feedback, and the selected app's process count. */
export interface FooterProps {
  readonly mode: Mode;
  readonly feedback: Feedback | null;
  readonly processes: number;
}

const QUESTIONS = {
  kill: (name: string, n: number) => `Kill ${name}? Its ${n} process${n === 1 ? '' : 'es'} will be killed (cgroup.kill).`,
  release: (name: string) => `Release ${name}? Its traffic will no longer be confined to the tunnel.`,
} as const;

const MARKS = { pending: '…', ok: '✓', error: '✗' } as const;

/** The bottom lines: the last action's outcome, then the keys or the pending y/n question. */
export function Footer({ mode, feedback, processes }: FooterProps) {
  const tone = useTone();
  const colour = feedback === null ? undefined : tone(feedback.kind === 'error' ? 'red' : feedback.kind === 'ok' ? 'green' : 'cyan');
  return (
    <>
      {feedback !== null && <Text color={colour} bold wrap="truncate-end">{`${MARKS[feedback.kind]} ${feedback.text}`}</Text>}
      {feedback?.hint !== undefined && <Text color={colour} wrap="truncate-end">{`  hint: ${feedback.hint}`}</Text>}
      {mode.kind === 'confirm'
        ? (
          <Text bold color={tone('yellow')} wrap="truncate-end">
            {`${QUESTIONS[mode.op](mode.name, processes)} [y/N]`}
          </Text>
        )
        : <Text color={tone('gray')} wrap="truncate-end">{KEYS_LINE}</Text>}
    </>
  );
}
