import type { Lab, Received } from '../lab/index.js';

/** What the internet host saw of one tag in a time window (pure). */
export interface Tally {
  /** Packets that arrived from the VPN server's address. */
  readonly viaTunnel: number;
  /** Packets that arrived from the second tunnel's exit (labs with two tunnels). */
  readonly viaTunnel2: number;
  /** Packets that arrived from the client's own address: leaks when the tag is protected. */
  readonly fromClient: number;
  /** DNS queries for the tag's names that reached the ISP's resolver. */
  readonly ispDns: number;
}

/** Counts records of a tag (and its children's tags) between two instants (pure). */
export function tally(records: readonly Received[], lab: Pick<Lab, 'origin'>, tag: string, from = 0, to = Infinity): Tally {
  let viaTunnel = 0;
  let viaTunnel2 = 0;
  let fromClient = 0;
  let ispDns = 0;
  for (const r of records) {
    if (r.t < from || r.t > to) continue;
    const mine = r.tag === tag || r.tag.startsWith(`${tag}-`) || r.tag.includes(tag);
    if (!mine) continue;
    if (r.proto === 'dns') {
      ispDns++;
      continue;
    }
    const origin = lab.origin(r.src);
    if (origin === 'tunnel') viaTunnel++;
    else if (origin === 'tunnel2') viaTunnel2++;
    else fromClient++;
  }
  return { viaTunnel, viaTunnel2, fromClient, ispDns };
}
