// Active probe through the tunnel: catches the silent death of the server or the path,
// where the interface stays up and no netlink event ever comes.
//
// Why `ping -I IFACE` (iputils): the probe must leave through the tunnel and never around
// it. Binding a source address is not enough (Linux routes by destination, so a packet
// from the tunnel's address can still leave by another interface); SO_BINDTODEVICE is,
// and Node's dgram has no such option. `ping -I IFACE` sets SO_BINDTODEVICE, so with the
// tunnel gone or without a route through it the probe fails instead of escaping. ICMP
// echo also needs nothing on the far side: every VPN server's tunnel address answers it,
// where a UDP echo would need a service there. One short-lived ping per interval costs
// about a millisecond of CPU, and being a fresh socket each time it follows a re-created
// interface of the same name without any bookkeeping.
//
// Where the `icmpprobe` addon is built the same probe runs in process instead (a raw ICMP socket
// bound to the device, on the thread pool): nothing is spawned every interval.
import { EventEmitter } from 'node:events';
import { loadAddon } from '../native/load.js';
import { startProgram, type Started } from '../spawn.js';
import type { SourceHealth } from './source.js';

/** Options of the probe source. */
export interface ProbeSourceOptions {
  iface: string;
  address: string;
  intervalMs: number;
  /** Consecutive unanswered probes that make the source unhealthy. */
  failures: number;
  /** How long one probe waits for its answer; default 0.8 × intervalMs (at least 100 ms). */
  timeoutMs?: number;
  ping?: string;
}

type IcmpProbe = { probe(iface: string, address: string, timeoutMs: number): Promise<number | null> };

/** Extracts the round-trip time in ms from ping's output; null when there was no reply. */
export function parsePingRtt(stdout: string): number | null {
  const m = /\btime[=<]([\d.]+) ms/.exec(stdout);
  return m ? Number(m[1]) : null;
}

/** Emits `health` (SourceHealth), debounced: unhealthy only after `failures` misses in a row. */
export class ProbeSource extends EventEmitter {
  /** RTT of the last answered probe, in ms. */
  lastRttMs: number | null = null;
  /** Unanswered probes since the last answer. */
  misses = 0;
  private current: SourceHealth | undefined;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Started | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ProbeSourceOptions) {
    super();
    // Below the interval so that `failures` misses fit in (failures + 0.8) × interval after
    // a death: 500 ms × 3 → at most 1.9 s. Links slower than that set timeoutMs.
    this.timeoutMs = Math.max(100, opts.timeoutMs ?? opts.intervalMs * 0.8);
  }

  /** The last health reported, if any. */
  get health(): SourceHealth | undefined {
    return this.current;
  }

  /** Starts probing at once; the source is unhealthy until the first answer. */
  start(): void {
    this.running = true;
    this.report({ healthy: false, reason: `no answer yet from probe ${this.opts.address}`, detectedAt: process.hrtime.bigint() });
    void this.loop();
  }

  /** Stops probing and ends an in-flight ping. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    const child = this.inFlight;
    child?.kill('SIGKILL');
    await child?.result;
  }

  private async loop(): Promise<void> {
    const started = Date.now();
    await this.probeOnce();
    if (!this.running) return;
    const wait = Math.max(0, started + this.opts.intervalMs - Date.now());
    this.timer = setTimeout(() => void this.loop(), wait);
  }

  /** One probe: its round trip, or null with why not. A probe that cannot even be sent counts as unanswered (fail closed). */
  private async echo(): Promise<{ rtt: number | null; why: string }> {
    const icmp = this.opts.ping === undefined ? loadAddon<IcmpProbe>('icmpprobe') : undefined;
    if (icmp) {
      return icmp.probe(this.opts.iface, this.opts.address, Math.round(this.timeoutMs))
        .then((rtt) => ({ rtt: rtt === null ? null : Math.round(rtt * 1000) / 1000, why: '' }), (error: Error) => ({ rtt: null, why: error.message }));
    }
    const args = ['-n', '-c', '1', '-W', (this.timeoutMs / 1000).toFixed(3), '-I', this.opts.iface, this.opts.address];
    const child = startProgram(this.opts.ping ?? 'ping', args, { timeoutMs: this.timeoutMs + 1000, stderr: 'collect' });
    this.inFlight = child;
    const result = await child.result;
    this.inFlight = undefined;
    const why = (result.stderr || result.error?.message || '').trim().split('\n')[0] ?? '';
    return { rtt: result.exitCode === 0 ? parsePingRtt(String(result.stdout)) : null, why };
  }

  private async probeOnce(): Promise<void> {
    const { rtt, why } = await this.echo();
    if (!this.running) return;
    const detectedAt = process.hrtime.bigint();
    if (rtt !== null) {
      this.lastRttMs = rtt;
      this.misses = 0;
      this.report({ healthy: true, reason: `probe ${this.opts.address} answers`, detectedAt });
      return;
    }
    this.misses++;
    if (this.misses < this.opts.failures) return;
    const reason = `${this.opts.failures} probe${this.opts.failures === 1 ? '' : 's'} to ${this.opts.address} through ${this.opts.iface} unanswered`;
    this.report({ healthy: false, reason: why ? `${reason} (${why})` : reason, detectedAt });
  }

  private report(h: SourceHealth): void {
    if (this.current && this.current.healthy === h.healthy && this.current.reason === h.reason) return;
    this.current = h;
    this.emit('health', h);
  }
}
