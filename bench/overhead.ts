// Overhead of the rules: iperf3 throughput through the tunnel (client → the VPN server's
// tunnel address) and request/response round trips, for an app under `ksapp run` and the
// same unconfined, alternated in one run (ABBA order, so drift cancels out).
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { waitUntil } from '../src/demo/wait.js';
import { onCleanup, signalPid } from './cleanup.js';
import type { LabSession } from './lab-session.js';
import { median, rounded, summarize, type Summary } from './stats.js';

/** Throughput figures, Mbit/s per round. */
export interface ThroughputResult {
  readonly unconfinedMbps: readonly number[];
  readonly protectedMbps: readonly number[];
  /** median(protected) / median(unconfined). */
  readonly ratio: number;
}

/** Round trips of one path and protocol, ms. */
export interface LatencyFigure {
  readonly path: 'tunnel' | 'loopback';
  readonly proto: 'udp' | 'tcp';
  readonly unconfined: Summary | null;
  readonly protected: Summary | null;
  /** median(protected) − median(unconfined), µs. */
  readonly addedUs: number;
  readonly lost: number;
}

const ECHO_SERVER = fileURLToPath(new URL('./echo-server.js', import.meta.url));
const ECHO_CLIENT = fileURLToPath(new URL('./echo-client.js', import.meta.url));

/** Starts a server in a namespace (argv prefix `enter`), registered for cleanup; waits until `ready()` holds. */
async function server(enter: readonly string[], argv: readonly string[], ready: () => Promise<boolean>): Promise<void> {
  const proc = execa(enter[0]!, [...enter.slice(1), ...argv], { reject: false, stdin: 'ignore', buffer: false, stdout: 'ignore', stderr: 'ignore' });
  const pid = proc.pid;
  const undo = onCleanup(`server ${pid}`, async () => { proc.kill('SIGTERM'); await proc; }, () => signalPid(pid, 'SIGKILL'));
  void proc.then(() => undo()); // forget the pid once it has exited (the lab's teardown ends it): it may be reused
  // Not returning proc: an execa process is a thenable, and returning it would wait for its exit.
  if (!(await waitUntil(ready, 10_000, 50))) throw new Error(`${argv.join(' ')} did not start`);
}

const listening = (s: LabSession, port: number) => async (): Promise<boolean> =>
  (await s.lab.exec('vpn', ['ss', '-Hltn', `sport = :${port}`]).catch(() => '')).trim() !== '';

/** iperf3 rounds, alternating unconfined and protected. */
export async function runThroughput(s: LabSession, rounds: number, seconds: number): Promise<ThroughputResult> {
  await server(s.lab.nsenterArgs('vpn'), ['iperf3', '-s', '-B', s.lab.tunnel.server4, '-p', '5201'], listening(s, 5201));
  const client = ['iperf3', '-c', s.lab.tunnel.server4, '-p', '5201', '-t', String(seconds), '-J'];
  const enter = s.lab.nsenterArgs('client');
  const mbps = (stdout: unknown): number => {
    const j = JSON.parse(String(stdout)) as { end?: { sum_received?: { bits_per_second?: number } } };
    return Math.round((j.end?.sum_received?.bits_per_second ?? NaN) / 1e5) / 10;
  };
  const free = async (): Promise<number> => mbps((await execa(enter[0]!, [...enter.slice(1), ...client], { reject: false, stdin: 'ignore' })).stdout);
  const confined = async (): Promise<number> => mbps((await s.daemon.cli(['run', '--as-root', '--name', 'bench-iperf', '--', ...client])).stdout);
  const u: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) { u.push(await free()); p.push(await confined()); } else { p.push(await confined()); u.push(await free()); }
  }
  return { unconfinedMbps: u, protectedMbps: p, ratio: Math.round((median(p) / median(u)) * 1000) / 1000 };
}

/** Sequential echoes over the tunnel (to the VPN server's tunnel address) and over loopback, UDP and TCP. */
export async function runLatency(s: LabSession, rounds: number, echoes: number): Promise<LatencyFigure[]> {
  const node = process.execPath;
  await server(s.lab.nsenterArgs('vpn'), [node, ECHO_SERVER, s.lab.tunnel.server4, '7100'], listening(s, 7100));
  const loopReady = async (): Promise<boolean> => (await s.lab.exec('client', ['ss', '-Hltn', 'sport = :7100']).catch(() => '')).trim() !== '';
  await server(s.lab.nsenterArgs('client'), [node, ECHO_SERVER, '127.0.0.1', '7100'], loopReady);
  const enter = s.lab.nsenterArgs('client');
  const out: LatencyFigure[] = [];
  for (const [where, host] of [['tunnel', s.lab.tunnel.server4], ['loopback', '127.0.0.1']] as const) {
    for (const proto of ['udp', 'tcp'] as const) {
      const args = [node, ECHO_CLIENT, proto, host, '7100', String(echoes)];
      const parse = (stdout: unknown): { rtts: number[]; lost: number } => JSON.parse(String(stdout) || '{"rtts":[],"lost":0}') as { rtts: number[]; lost: number };
      const free = async () => parse((await execa(enter[0]!, [...enter.slice(1), ...args], { reject: false, stdin: 'ignore' })).stdout);
      const confined = async () => parse((await s.daemon.cli(['run', '--as-root', '--name', 'bench-echo', '--', ...args])).stdout);
      const u: number[] = [];
      const p: number[] = [];
      let lost = 0;
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? [free, confined] : [confined, free];
        for (const f of order) {
          const res = await f();
          (f === free ? u : p).push(...res.rtts);
          lost += res.lost;
        }
      }
      out.push({ path: where, proto, unconfined: rounded(summarize(u)), protected: rounded(summarize(p)), addedUs: Math.round((median(p) - median(u)) * 1000), lost });
    }
  }
  return out;
}
