// Ink test helpers. ink-testing-library 4 predates Ink 6 / React 19: renders
// and input land a tick later, so tests yield before typing and poll frames.
import { EventEmitter } from 'node:events';
import { render, type Instance } from 'ink';
import type { ReactNode } from 'react';

/** Yields to the event loop so Ink can mount, subscribe and render. */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `lastFrame` until `want` (a substring or a predicate) holds; fails with the last frame seen. */
export async function waitForFrame(
  lastFrame: () => string | undefined,
  want: string | ((frame: string) => boolean),
  timeoutMs = 2000,
): Promise<string> {
  const ok = typeof want === 'string' ? (f: string) => f.includes(want) : want;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = lastFrame() ?? '';
    if (ok(frame)) return frame;
    if (Date.now() > deadline) {
      throw new Error(`frame did not show ${typeof want === 'string' ? JSON.stringify(want) : 'what was expected'} within ${timeoutMs} ms; last frame:\n${frame}`);
    }
    await tick(5);
  }
}

/** A stdout of a given size that records every frame Ink writes. */
export class FakeStdout extends EventEmitter {
  readonly frames: string[] = [];
  isTTY = false;
  constructor(public columns = 80, public rows = 24) {
    super();
  }
  write = (frame: string): boolean => {
    this.frames.push(frame);
    return true;
  };
  lastFrame = (): string | undefined => this.frames.at(-1);
  /** Changes the size and tells Ink, as a terminal would. */
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

/** A stdin that looks like a terminal and takes keys from the test. */
export class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  /** Types `data` (a key, or an escape sequence such as '\u001b[B' for ↓). */
  write = (data: string): void => {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  };
  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

/** Renders `tree` on a fake terminal of `columns`×`rows` (ink-testing-library's is always 100 wide with no height). */
export function renderAt(tree: ReactNode, columns: number, rows: number) {
  const stdout = new FakeStdout(columns, rows);
  const stdin = new FakeStdin();
  const instance: Instance = render(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return { ...instance, stdout, stdin, frames: stdout.frames, lastFrame: stdout.lastFrame };
}

/** Terminal escape sequences for the keys the tests press. */
export const KEYS = { up: '\u001b[A', down: '\u001b[B', end: '\u001b[F', escape: '\u001b' } as const;
