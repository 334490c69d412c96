/**
 * Splits a byte stream into lines with a size bound: a line longer than the
 * bound is reported once as oversized and the rest of the stream is refused,
 * so a hostile client cannot make the daemon buffer without end.
 */
export class LineSplitter {
  private buffer = '';
  private overflowed = false;

  constructor(private readonly maxBytes: number) {}

  /** Feeds a chunk; returns complete lines, or 'overflow' once the bound is crossed. */
  push(chunk: string): string[] | 'overflow' {
    if (this.overflowed) return 'overflow';
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    if (Buffer.byteLength(this.buffer) > this.maxBytes || lines.some((l) => Buffer.byteLength(l) > this.maxBytes)) {
      this.overflowed = true;
      this.buffer = '';
      return 'overflow';
    }
    return lines.filter((l) => l.trim() !== '');
  }
}
