// The machine the figures were measured on, printed and stored beside them.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** What the results depend on. */
export interface Machine {
  readonly nproc: number;
  readonly kernel: string;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly date: string;
}

/** The CPU model from /proc/cpuinfo text (pure); "unknown" when absent. */
export function cpuModel(cpuinfo: string): string {
  const line = cpuinfo.split('\n').find((l) => /^model name\s*:/.test(l));
  return line?.split(':').slice(1).join(':').trim() || 'unknown';
}

/** MemTotal from /proc/meminfo text, in GiB (pure); NaN when absent. */
export function memTotalGiB(meminfo: string): number {
  const kb = Number(/^MemTotal:\s+(\d+)\s+kB/m.exec(meminfo)?.[1]);
  return Math.round((kb / 1024 / 1024) * 10) / 10;
}

/** Reads the machine's description. */
export function machine(): Machine {
  const read = (f: string): string => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
  return {
    nproc: os.availableParallelism(), kernel: os.release(), cpu: cpuModel(read('/proc/cpuinfo')),
    memoryGiB: memTotalGiB(read('/proc/meminfo')), node: process.version, date: new Date().toISOString(),
  };
}

/** One line for the table's heading. */
export function describeMachine(m: Machine): string {
  return `machine: ${m.nproc} CPUs (${m.cpu}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.date}`;
}
