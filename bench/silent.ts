// Silent failure: the VPN server's wireguard-go SIGKILLed (the interface stays up, nothing
// tells the client) → the daemon's probe (default 500 ms × 3) declares the tunnel down.
import path from 'node:path';
import { waitUntil } from '../src/demo/wait.js';
import { msBetween, observe } from './kernel.js';
import type { LabSession } from './lab-session.js';
import { rounded, summarize, type Summary } from './stats.js';

/** Silent-failure figures, ms from the kill. */
export interface SilentResult {
  /** Kill → the daemon's `tunnel-down` event (logged once the app is frozen). */
  readonly detected: Summary | null;
  /** Kill → the protected app's group `frozen 1`, seen from outside. */
  readonly frozen: Summary | null;
  readonly failedTrials: number;
}

/** Kills and restarts the server `trials` times with a protected app running. */
export async function runSilent(s: LabSession, trials: number, say: (l: string) => void): Promise<SilentResult> {
  const app = s.daemon.cli(['run', '--as-root', '--name', 'bench-silent', '--', 'sleep', '1000000']);
  const group = path.join(s.parentDir, 'bench-silent');
  const detected: number[] = [];
  const frozen: number[] = [];
  let failed = 0;
  try {
    if (!(await waitUntil(async () => (await s.daemon.status()).apps.some((a) => a.name === 'bench-silent' && a.pids.length > 0), 10_000, 50))) {
      throw new Error('the protected app did not start');
    }
    for (let t = 0; t < trials; t++) {
      const t0 = Date.now();
      const hr0 = process.hrtime.bigint();
      const seen = observe(group, (e) => e.frozen, 10_000);
      await s.lab.faults.killServer();
      const at = await seen;
      const down = await s.daemon.waitEvent('tunnel-down', t0, 10_000);
      if (!down || at === null) failed++;
      else { detected.push(down.at - t0); frozen.push(msBetween(hr0, at)); }
      const back = Date.now();
      await s.lab.faults.restartServer();
      if (!(await s.daemon.waitEvent('tunnel-up', back, 60_000))) throw new Error('the tunnel did not come back after the server restart');
      say(`  silent trial ${t + 1}/${trials}: down after ${down ? down.at - t0 : '?'} ms`);
    }
    return { detected: rounded(summarize(detected)), frozen: rounded(summarize(frozen)), failedTrials: failed };
  } finally {
    app.kill('SIGTERM');
    await app;
  }
}
