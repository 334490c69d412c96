// The orchestrator's side of reaction-worker.js: starts it in a namespace, collects its
// JSON lines and waits for the events a trial needs.
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { onCleanup, signalPid } from './cleanup.js';
import type { WorkerSpec } from './reaction-worker.js';

/** One line the worker printed, with the hrtime it arrived here. */
export interface WorkerLine {
  readonly kind: 'event' | 'ready' | 'warning' | 'fatal';
  readonly type?: string;
  readonly app?: string;
  readonly detail?: string;
  readonly reactionMs?: number;
  readonly at?: number;
  readonly arrived: bigint;
}

const WORKER = fileURLToPath(new URL('./reaction-worker.js', import.meta.url));

/** A running reaction worker. */
export class Worker {
  private readonly lines: WorkerLine[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly proc: ResultPromise;
  private readonly undo: () => Promise<void>;
  private stderr = '';

  constructor(enter: readonly string[], spec: WorkerSpec) {
    const argv = [...enter, process.execPath, WORKER, JSON.stringify(spec)];
    const proc = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'pipe', buffer: false, stderr: 'pipe' });
    this.proc = proc;
    let rest = '';
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      const arrived = process.hrtime.bigint();
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) this.lines.push({ ...(JSON.parse(p) as Omit<WorkerLine, 'arrived'>), arrived });
      for (const w of this.waiters) w();
    });
    proc.stderr?.on('data', (c: Buffer) => { this.stderr = (this.stderr + c.toString()).slice(-2000); });
    void proc.then(() => { for (const w of this.waiters) w(); });
    const pid = proc.pid;
    this.undo = onCleanup(`worker ${pid}`, async () => { proc.stdin?.end(); await proc; }, () => signalPid(pid, 'SIGKILL'));
  }

  /** How many lines have arrived so far (a trial waits only for lines after its start). */
  get mark(): number {
    return this.lines.length;
  }

  /** The first line from index `from` on that matches; rejects on timeout, a fatal line or the worker's exit. */
  async waitFor(match: (l: WorkerLine) => boolean, from = 0, timeoutMs = 10_000): Promise<WorkerLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      const fatal = this.lines.find((l) => l.kind === 'fatal');
      if (fatal) throw new Error(`bench worker failed: ${fatal.detail}`);
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`bench worker exited: ${this.stderr.trim() || 'no message'}`);
      if (Date.now() > deadline) throw new Error(`bench worker: timed out waiting (last lines: ${JSON.stringify(this.lines.slice(-3).map((l) => ({ ...l, arrived: undefined })))})`);
      await new Promise<void>((resolve) => {
        const wake = (): void => { this.waiters.delete(wake); clearTimeout(t); resolve(); };
        const t = setTimeout(wake, Math.max(1, Math.min(200, deadline - Date.now())));
        this.waiters.add(wake);
      });
    }
  }

  /** The lines so far, as text (for error messages). */
  describe(last = 8): string {
    return this.lines.slice(-last).map((l) => `${l.kind}${l.type ? ` ${l.type}` : ''}${l.app ? ` ${l.app}` : ''}${l.detail ? `: ${l.detail}` : ''}`).join(' | ');
  }

  /** Waits for a supervisor event of this type from index `from` on. */
  event(type: string, from: number, timeoutMs = 10_000): Promise<WorkerLine> {
    return this.waitFor((l) => l.kind === 'event' && l.type === type, from, timeoutMs);
  }

  /** Ends the worker (its supervisor stops, its ip monitor ends) and waits. */
  stop(): Promise<void> {
    return this.undo();
  }
}
