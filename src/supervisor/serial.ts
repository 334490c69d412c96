/** Runs async tasks one after another, so kernel updates never interleave. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queues a task; its result (or error) is the returned promise's. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
