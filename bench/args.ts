// Command-line options of `npm run bench` (pure parsing, so bad input is refused before
// anything touches the kernel).

/** The benchmark's sections, in the order they run. */
export const SECTIONS = ['reaction', 'scale', 'exec', 'daemon', 'failover', 'flood', 'startup', 'overhead', 'silent', 'stress'] as const;
/** One section's name. */
export type Section = (typeof SECTIONS)[number];

/** Every size the run uses. */
export interface BenchOptions {
  /** Reaction trials per (policy, process count). */
  readonly trials: number;
  /** Processes in the protected group for the reaction trials. */
  readonly procs: readonly number[];
  /** Fault injections of the leak stress test. */
  readonly faults: number;
  /** Sender interval of the stress test's apps, ms. */
  readonly senderIntervalMs: number;
  /** Reaction trials through a real `ksapp daemon` (each needs ~10 s of stable tunnel: the hold-down). */
  readonly daemonTrials: number;
  /** Failovers (first tunnel deleted → app moved to the second) and failbacks through a real `ksapp daemon`. */
  readonly failoverTrials: number;
  /** Execs of a marked and of an unmarked program each (the exec guard's cost). */
  readonly execTrials: number;
  /** Pairs of reaction trials (idle, then under a non-root user's flood) of the flood section (~25 s each: two hold-downs). */
  readonly floodTrials: number;
  readonly silentTrials: number;
  /** Protected apps for the ruleset and freeze-all figures. */
  readonly scaleApps: readonly number[];
  /** Repeats per size of the scale figures. */
  readonly scaleRepeats: number;
  /** Apps the idle daemon holds, and how long its CPU is sampled. */
  readonly idleApps: number;
  readonly idleSeconds: number;
  readonly iperfRounds: number;
  readonly iperfSeconds: number;
  readonly latencyRounds: number;
  readonly echoes: number;
  readonly startupTrials: number;
  readonly sections: readonly Section[];
  readonly out: string;
  readonly quick: boolean;
  readonly help: boolean;
}

const FULL: Omit<BenchOptions, 'sections' | 'out' | 'quick' | 'help'> = {
  trials: 200, procs: [1, 100, 1000], faults: 1000, senderIntervalMs: 2, daemonTrials: 5, failoverTrials: 10, floodTrials: 3, execTrials: 500, silentTrials: 5,
  scaleApps: [1, 10, 100, 1000], scaleRepeats: 5, idleApps: 100, idleSeconds: 10,
  iperfRounds: 4, iperfSeconds: 3, latencyRounds: 3, echoes: 1000, startupTrials: 20,
};

const QUICK: typeof FULL = {
  trials: 10, procs: [1, 100, 1000], faults: 40, senderIntervalMs: 5, daemonTrials: 1, failoverTrials: 3, floodTrials: 1, execTrials: 100, silentTrials: 2,
  scaleApps: [1, 10, 100], scaleRepeats: 2, idleApps: 100, idleSeconds: 3,
  iperfRounds: 1, iperfSeconds: 2, latencyRounds: 1, echoes: 200, startupTrials: 5,
};

/** The usage text. */
export const USAGE = `usage: npm run bench -- [--quick] [--trials N] [--faults N] [--only SECTION,...] [--out FILE]
  --quick              small sizes for a smoke run (about three minutes)
  --trials N           reaction trials per policy and process count (default 200)
  --procs A,B,...      processes in the protected group (default 1,100,1000)
  --faults N           fault injections of the leak stress test (default 1000)
  --sender-interval MS interval of the stress test's senders (default 2)
  --daemon-trials N    reaction trials through a real ksapp daemon (default 5; ~10 s each)
  --failover-trials N  failovers and failbacks through a daemon with two tunnels (default 10)
  --exec-trials N      execs of a guarded and an unguarded program each (default 500)
  --flood-trials N     idle/flooded reaction pairs of the flood section (default 3; ~25 s each)
  --silent-trials N    silent-failure trials (default 5)
  --scale-apps A,...   protected apps for the ruleset/freeze-all figures (default 1,10,100,1000)
  --idle-seconds N     CPU sampling time of the idle daemon (default 10)
  --iperf-rounds N     iperf3 rounds per side (default 4, ${FULL.iperfSeconds} s each; --iperf-seconds)
  --echoes N           request/response round trips per round (default 1000)
  --startup-trials N   ksapp run -- true trials (default 20)
  --only LIST          run only these sections: ${SECTIONS.join(',')}
  --out FILE           where the JSON goes (default bench/results.json)`;

/** Thrown for bad options; run.ts prints it with the usage (exit 2). */
export class BenchUsageError extends Error {}

const int = (flag: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new BenchUsageError(`${flag} needs a whole number ≥ ${min}, got ${v ?? 'nothing'}`);
  return n;
};
const list = (flag: string, v: string | undefined): number[] => (v ?? '').split(',').map((x) => int(flag, x, 1));

/** Parses argv (without node and the script) into options; throws BenchUsageError (pure). */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o: Record<string, unknown> = { ...(quick ? QUICK : FULL), sections: [...SECTIONS], out: 'bench/results.json', quick, help: false };
  const numeric: Record<string, [keyof typeof FULL, number]> = {
    '--trials': ['trials', 1], '--faults': ['faults', 0], '--sender-interval': ['senderIntervalMs', 1], '--daemon-trials': ['daemonTrials', 0], '--failover-trials': ['failoverTrials', 1], '--flood-trials': ['floodTrials', 1], '--exec-trials': ['execTrials', 10],
    '--silent-trials': ['silentTrials', 0], '--idle-seconds': ['idleSeconds', 1], '--iperf-rounds': ['iperfRounds', 1],
    '--iperf-seconds': ['iperfSeconds', 1], '--echoes': ['echoes', 10], '--startup-trials': ['startupTrials', 1], '--scale-repeats': ['scaleRepeats', 1],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
    if (a === '--quick') continue;
    else if (a === '--help' || a === '-h') o.help = true;
    else if (numeric[a]) o[numeric[a][0]] = int(a, next(), numeric[a][1]);
    else if (a === '--procs') o.procs = list(a, next());
    else if (a === '--scale-apps') o.scaleApps = list(a, next());
    else if (a === '--out') o.out = next() ?? '';
    else if (a === '--only') {
      const wanted = (next() ?? '').split(',').filter(Boolean);
      const bad = wanted.filter((w) => !(SECTIONS as readonly string[]).includes(w));
      if (bad.length > 0 || wanted.length === 0) throw new BenchUsageError(`--only takes sections among ${SECTIONS.join(', ')}; got ${bad.join(', ') || 'nothing'}`);
      o.sections = SECTIONS.filter((s) => wanted.includes(s));
    } else throw new BenchUsageError(`unknown option ${a}`);
  }
  if (!o.out) throw new BenchUsageError('--out needs a file name');
  return o as unknown as BenchOptions;
}
