import type { Lab, Received } from '../lab/index.js';

/** Where a packet left, as the internet host tells by its source address. */
type Exit = ReturnType<Lab['origin']>;

/**
 * The gap a moving app shows at the far end (pure): the arrival of its first packet
 * through `to` at or after `from`, minus the arrival of its last packet through `exit`
 * before that one; null when either is missing. DNS queries do not count.
 */
export function switchGap(records: readonly Received[], lab: Pick<Lab, 'origin'>, tag: string, from: number, exit: Exit, to: Exit): number | null {
  const mine = records.filter((r) => r.proto !== 'dns' && r.tag.includes(tag)).sort((a, b) => a.t - b.t);
  const first = mine.find((r) => r.t >= from && lab.origin(r.src) === to);
  if (!first) return null;
  const last = mine.slice(0, mine.indexOf(first)).reverse().find((r) => lab.origin(r.src) === exit);
  return last ? first.t - last.t : null;
}
