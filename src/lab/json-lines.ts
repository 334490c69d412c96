import type { Readable } from 'node:stream';

/** Collects the JSON lines a child prints (a fixture's reports) into an array that fills as they arrive. */
export function collectJsonLines(stream: Readable): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  return lines;
}
