// Counting the internet host's log of a lab by tag, streamed: a stress run logs hundreds of
// thousands of packets, more than is worth holding in memory at once.
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { tally, type Tally } from '../src/demo/classify.js';
import type { Lab, Received } from '../src/lab/index.js';

/** A tally plus the packets through the tunnel per protocol and family (udp, tcp, udp6, tcp6). */
export type ProtoTally = { -readonly [K in keyof Tally]: Tally[K] } & { tunnelByProto: Record<string, number> };

/** Streams the internet host's log through the demo's tally, so a large log is never held whole. */
export async function tallyLog(lab: Lab, tags: readonly string[], from: number): Promise<ProtoTally[]> {
  const sums: ProtoTally[] = tags.map(() => ({ viaTunnel: 0, viaTunnel2: 0, fromClient: 0, ispDns: 0, tunnelByProto: {} }));
  let batch: Received[] = [];
  const flush = (): void => {
    tags.forEach((tag, i) => { const t = tally(batch, lab, tag, from); sums[i]!.viaTunnel += t.viaTunnel; sums[i]!.fromClient += t.fromClient; sums[i]!.ispDns += t.ispDns; });
    batch = [];
  };
  const lines = createInterface({ input: createReadStream(path.join(lab.dir, 'internet.jsonl')), crlfDelay: Infinity });
  for await (const line of lines) {
    let r: Received;
    try { r = JSON.parse(line) as Received; } catch { continue; }
    batch.push(r);
    const i = tags.indexOf(r.tag);
    if (i >= 0 && r.t >= from && lab.origin(r.src) === 'tunnel') {
      const key = `${r.proto}${r.src.includes(':') ? '6' : ''}`;
      sums[i]!.tunnelByProto[key] = (sums[i]!.tunnelByProto[key] ?? 0) + 1;
    }
    if (batch.length >= 20_000) flush();
  }
  flush();
  return sums;
}

