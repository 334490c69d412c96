// A TunnelMonitor running in a network namespace, speaking JSON lines, for the monitor's kernel tests.
import { execa, type ResultPromise } from 'execa';
import { MessageChild, type Msg } from './message-child.js';

const MONITOR_URL = new URL('../../src/monitor/index.js', import.meta.url).href;
const CHILD = `
import { TunnelMonitor, detectTunnel } from ${JSON.stringify(MONITOR_URL)};
const out = (o) => process.stdout.write(JSON.stringify(o, (k, v) => typeof v === 'bigint' ? String(v) : v) + '\\n');
const fail = (e) => out({ type: 'error', code: e.code, message: e.message, exitCode: e.exitCode });
const opts = JSON.parse(process.argv[1]);
if (opts.detect) {
  await detectTunnel().then((iface) => out({ type: 'started', iface }), fail);
} else {
  const m = new TunnelMonitor(opts);
  m.on('transition', (t) => out({ type: 'transition', ...t, emittedAt: process.hrtime.bigint() }));
  m.on('reason', (t) => out({ type: 'reason', ...t }));
  try { await m.start(); out({ type: 'started' }); } catch (e) { fail(e); }
  const stop = async () => { await m.stop(); out({ type: 'stopped' }); process.exit(0); };
  process.stdin.on('end', stop);
  process.stdin.on('data', (d) => {
    for (const cmd of String(d).split('\\n')) {
      if (cmd === 'snapshot') out({ type: 'snapshot', ...m.snapshot(), ipPid: m.linkMonitorPid });
      if (cmd === 'stop') void stop();
    }
  });
}
`;

/** A TunnelMonitor running in a namespace; messages queued by type. */
export class MonitorChild extends MessageChild {
  startError: { code?: string; message?: string; exitCode?: number } | undefined;

  constructor(proc: ResultPromise) {
    super(proc, 'monitor process');
  }

  /** The monitor's snapshot() plus the pid of its ip monitor. */
  async snapshot(): Promise<Msg & { state: string; reason: string; kind: string; ipPid: number; sources: Record<string, { healthy: boolean; reason: string } | null>; handshakeAgeMs: number | null; probeRttMs: number | null }> {
    this.proc.stdin?.write('snapshot\n');
    return (await this.next('snapshot')) as never;
  }

  /** Stops the monitor (stop()), then makes sure the process is gone. */
  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.pid !== undefined) {
      this.proc.stdin?.end();
      const timer = setTimeout(() => { if (this.proc.pid !== undefined) process.kill(this.proc.pid, 'SIGKILL'); }, 5_000);
      await this.proc;
      clearTimeout(timer);
    }
  }
}

/** Starts a monitor in namespace `ns` with these options; resolves once started (or failed to). */
export async function startMonitorChild(ns: string, opts: object): Promise<MonitorChild> {
  const proc = execa('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '--input-type=module', '-e', CHILD, JSON.stringify(opts)], {
    reject: false, stdin: 'pipe', stderr: 'inherit', buffer: false,
  });
  const child = new MonitorChild(proc);
  const first = await Promise.race([child.next('started', 15_000), child.next('error', 15_000)]).catch((e: unknown) => {
    throw new Error(`the monitor child did not start: ${String(e)}`);
  });
  if (first.type === 'error') {
    child.startError = first as MonitorChild['startError'];
    await child.close();
  }
  return child;
}
