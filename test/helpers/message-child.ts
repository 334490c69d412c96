// A child process that reports as JSON lines; its messages queued by type, for tests to wait on.
import type { ResultPromise } from 'execa';

/** One JSON line of the child. */
export type Msg = Record<string, unknown> & { type: string };

/** Queues a child's JSON-line messages by type; `next(type)` waits for one. */
export class MessageChild {
  private readonly queues = new Map<string, Msg[]>();
  private readonly waiters = new Map<string, ((m: Msg) => void)[]>();
  protected exited = false;

  constructor(readonly proc: ResultPromise, private readonly who: string) {
    let rest = '';
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.push(JSON.parse(line) as Msg);
    });
    void proc.then((r) => {
      this.exited = true;
      for (const waiters of this.waiters.values()) for (const w of waiters.splice(0)) w({ type: 'exit', exitCode: r.exitCode });
    });
  }

  private push(m: Msg): void {
    const w = this.waiters.get(m.type)?.shift();
    if (w) w(m);
    else this.queues.set(m.type, [...(this.queues.get(m.type) ?? []), m]);
  }

  /** The next message of this type (queued or future); rejects after timeoutMs or when the child exits first. */
  next(type: string, timeoutMs = 10_000): Promise<Msg> {
    const queued = this.queues.get(type)?.shift();
    if (queued) return Promise.resolve(queued);
    if (this.exited) return Promise.reject(new Error(`the ${this.who} exited before a ${type} message`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} message within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(type, [...(this.waiters.get(type) ?? []), (m) => {
        clearTimeout(timer);
        if (m.type === 'exit') reject(new Error(`the ${this.who} exited (status ${String(m.exitCode)}) before a ${type} message`));
        else resolve(m);
      }]);
    });
  }
}
