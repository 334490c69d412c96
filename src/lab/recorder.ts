// The recorders: the internet host's (all traffic + the ISP's DNS) and the VPN
// server's (the tunnel's DNS). Each appends JSON lines to a file we read back.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LabError, logTail } from './errors.js';
import { spawnIn } from './netns.js';

/** One thing a recorder received. */
export interface Received {
  /** Arrival time, ms since the epoch. */
  t: number;
  proto: 'udp' | 'tcp' | 'dns';
  /** Source address as the receiver saw it (after any NAT on the way). */
  src: string;
  /** Local address it arrived on. */
  dst: string;
  /** First token of the payload, or the queried name for DNS. */
  tag: string;
  /** Second token of the payload when it is a number (the sender's sequence). */
  seq?: number;
  /** Source port (UDP and TCP). */
  sport?: number;
  /** DNS only: 'A', 'AAAA' or the numeric type, and the transport the query used. */
  qtype?: string;
  transport?: 'udp' | 'tcp';
}

/** Absolute path of a fixture program shipped with the tests, from dist/src/lab or from src/lab. */
export function fixturePath(name: string): string {
  const candidates = ['../../../test/fixtures/', '../../test/fixtures/'].map((d) => fileURLToPath(new URL(d + name, import.meta.url)));
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

/** Options of one recorder. */
export interface RecorderOptions {
  log: string;
  bind: readonly string[];
  answer4: string;
  answer6: string;
  dnsOnly?: boolean;
  /** A JSON file of names answered with their own records (see recorder.mjs). */
  zone?: string;
}

/** Starts recorder.mjs in a namespace; resolves with its pid once every socket is bound. */
export async function startRecorder(ns: string, o: RecorderOptions, stderrLog: string): Promise<number> {
  const argv = [process.execPath, fixturePath('recorder.mjs'), '--log', o.log, '--answer4', o.answer4, '--answer6', o.answer6];
  for (const b of o.bind) argv.push('--bind', b);
  if (o.dnsOnly) argv.push('--dns-only');
  if (o.zone) argv.push('--zone', o.zone);
  const proc = spawnIn(ns, argv, stderrLog, 'pipe');
  const ready = await new Promise<boolean>((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(false), 5000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) { clearTimeout(timer); resolve(true); }
    });
    void proc.then(() => { clearTimeout(timer); resolve(false); });
  });
  if (!ready || proc.pid === undefined) {
    if (proc.pid !== undefined) proc.kill('SIGKILL');
    throw new LabError(`the recorder did not start in ${ns}: ${logTail(stderrLog) || 'no output'}`, 'is node able to bind the lab addresses?');
  }
  return proc.pid;
}

/** Parses a recorder log; a torn last line (being written right now) is skipped. */
export function parseRecords(text: string): Received[] {
  const out: Received[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Received);
    } catch {
      // partial line
    }
  }
  return out;
}

/** Everything a recorder has logged so far (empty when the log does not exist yet). */
export async function readRecords(log: string): Promise<Received[]> {
  try {
    return parseRecords(await readFile(log, 'utf8'));
  } catch {
    return [];
  }
}
