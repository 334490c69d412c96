/**
 * The daemon's one place that starts external programs (nft, ip, wg, ping).
 * It never throws and never leaves an 'error' event unheard: when the daemon
 * runs out of descriptors or memory, Node reports the failed spawn (EMFILE,
 * ENFILE, ENOMEM, EAGAIN) as an 'error' event on the next tick, and execa 9
 * fails on such a child before it listens (its stdio is missing), so that
 * event went unheard and crashed the daemon (`spawn ip EMFILE`). Here the
 * listener is attached before the tick ends, and the failure is a result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How a program ended. `error` is set when it could not be started or its pipes failed; `exitCode` is then undefined. */
export interface RunResult {
  readonly exitCode: number | undefined;
  readonly signal: NodeJS.Signals | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly error: Error | undefined;
  readonly timedOut: boolean;
}

/** A started program. */
export interface Started {
  /** Undefined when it could not be started. */
  readonly pid: number | undefined;
  /** Its output as a stream, with `stdout: 'stream'`. */
  readonly stdout: Readable | null;
  kill(signal?: NodeJS.Signals): void;
  /** Settles once it has ended and its pipes are closed; never rejects. */
  readonly result: Promise<RunResult>;
}

/** What to do with the program's input and output. */
export interface StartOptions {
  /** Written to its stdin, which is then closed; without it stdin is /dev/null. */
  readonly input?: string;
  /** Killed with SIGKILL after this long, ms. */
  readonly timeoutMs?: number;
  /** 'collect' (the default) gathers it into the result; 'stream' hands out the stream; 'ignore' discards it. */
  readonly stdout?: 'collect' | 'stream' | 'ignore';
  readonly stderr?: 'collect' | 'ignore';
  /** The whole environment it gets (LC_ALL=C added); the daemon's own by default. */
  readonly env?: Readonly<Record<string, string>>;
  /** Runs as this user and group (root only). */
  readonly uid?: number;
  readonly gid?: number;
  /** Keeps only the last this many characters of each collected stream (a program that floods costs no memory). */
  readonly keepLast?: number;
}

/** Starts `file` with `args`, without a shell. */
export function startProgram(file: string, args: readonly string[], o: StartOptions = {}): Started {
  let child: ChildProcess;
  try {
    // LC_ALL=C: the tools' output and messages stay the ones ksapp was written against, whatever the user's locale.
    child = spawn(file, args, {
      env: { ...(o.env ?? process.env), LC_ALL: 'C' }, ...(o.uid === undefined ? {} : { uid: o.uid }), ...(o.gid === undefined ? {} : { gid: o.gid }),
      stdio: [o.input === undefined ? 'ignore' : 'pipe', o.stdout === 'ignore' ? 'ignore' : 'pipe', o.stderr === 'collect' ? 'pipe' : 'ignore'] });
  } catch (error) {
    const result: RunResult = { exitCode: undefined, signal: undefined, stdout: '', stderr: '', error: error as Error, timedOut: false };
    return { pid: undefined, stdout: null, kill: () => undefined, result: Promise.resolve(result) };
  }
  let stdout = '';
  let stderr = '';
  let failure: Error | undefined;
  let timedOut = false;
  const fail = (e: Error): void => { failure ??= e; };
  child.on('error', fail);
  // After a failed spawn Node sets no stdio at all: every stream is optional.
  for (const s of [child.stdout, child.stderr]) s?.on('error', fail);
  // A program may end without reading all its input; that is its exit status's business, not a failure to run it.
  child.stdin?.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') fail(e); });
  const keep = (text: string): string => (o.keepLast !== undefined && text.length > o.keepLast ? text.slice(-o.keepLast) : text);
  if (o.stdout !== 'stream') child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout = keep(stdout + d); });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr = keep(stderr + d); });
  child.stdin?.end(o.input);
  const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, o.timeoutMs);
  const result = new Promise<RunResult>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // A spawn that failed closes with a negative errno as its "code".
      resolve({ exitCode: code === null || code < 0 ? undefined : code, signal: signal ?? undefined, stdout, stderr, error: failure, timedOut });
    });
  });
  return { pid: child.pid, stdout: o.stdout === 'stream' ? child.stdout : null, kill: (signal = 'SIGTERM') => { child.kill(signal); }, result };
}

/**
 * How a run ended, and the tail of what it said, as the event log puts it
 * (pure): "exited 3; it said: …", "was killed after 500 ms", "could not be
 * started (…)". `timeoutMs` is the limit it was started with.
 */
export function describeEnd(r: RunResult, timeoutMs: number, tail: number): string {
  const how = r.timedOut ? `was killed after ${timeoutMs} ms` : r.error && r.exitCode === undefined ? `could not be started (${r.error.message})`
    : r.signal ? `ended by ${r.signal}` : `exited ${r.exitCode}`;
  const said = `${r.stdout}${r.stderr}`.trim().replace(/\s+/g, ' ');
  const shown = said.length > tail ? `…${said.slice(-tail)}` : said;
  return `${how}${shown ? `; it said: ${shown}` : ''}`;
}

/** Whether a run failed: not started, killed, or a non-zero status. */
export function runFailed(r: RunResult): boolean {
  return r.error !== undefined || r.exitCode !== 0;
}
