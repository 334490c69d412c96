// Entry of `npm run bench`: runs the sections, prints a table per section and the goals,
// and writes bench/results.json. Everything happens in namespaces and cgroups this run
// creates (names carry a per-run suffix) and is removed at the end, on error and on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cgroupRoot } from '../cgroups/index.js';
import { BenchUsageError, parseArgs, USAGE, type BenchOptions, type Section } from './args.js';
import { cleanupAll, installSignalCleanup } from './cleanup.js';
import { runDaemonSection } from './daemon-bare.js';
import { runExecGuard } from './exec-guard.js';
import { runFailover } from './failover.js';
import { runFlood } from './flood.js';
import { checkGoals } from './goals.js';
import { openLabSession, type LabSession } from './lab-session.js';
import { machine } from './machine.js';
import { runLatency, runThroughput } from './overhead.js';
import { runReaction, type RunContext } from './reaction.js';
import { formatReport } from './report.js';
import { emptyResults, REACTION_METHOD, type BenchResults } from './results.js';
import { runScale } from './scale.js';
import { runSilent } from './silent.js';
import { runStartup } from './startup.js';
import { runStress } from './stress.js';

const say = (line: string): void => { process.stderr.write(`${line}\n`); };

/** Runs one section, timing it and recording (not throwing) its failure. */
async function section(r: BenchResults, o: BenchOptions, name: Section, body: () => Promise<void>): Promise<void> {
  if (!o.sections.includes(name)) return;
  say(`bench: ${name}`);
  const t0 = Date.now();
  try {
    await body();
  } catch (error) {
    r.errors[name] = error instanceof Error ? error.message : String(error);
    say(`bench: ${name} failed: ${r.errors[name]}`);
  }
  r.seconds[name] = Math.round((Date.now() - t0) / 100) / 10;
}

async function bareSections(r: BenchResults, o: BenchOptions, ctx: RunContext): Promise<void> {
  await section(r, o, 'reaction', async () => {
    r.reaction = { method: REACTION_METHOD, configs: [] };
    for (const policy of ['freeze', 'kill'] as const) {
      for (const n of o.procs) {
        say(`  ${policy}, ${n} process(es), ${o.trials} trials`);
        r.reaction.configs.push(await runReaction(ctx, { id: `${policy}${n}`, policy, groups: 1, perGroup: n, trials: o.trials }));
      }
    }
  });
  await section(r, o, 'scale', async () => { r.scale = await runScale(ctx, o.scaleApps, o.scaleRepeats); });
  await section(r, o, 'exec', async () => { r.exec = await runExecGuard(ctx, o.execTrials); });
  await section(r, o, 'daemon', async () => {
    r.daemon = await runDaemonSection(ctx, { idleApps: o.idleApps, idleSeconds: o.idleSeconds, trials: o.daemonTrials, procs: 100 });
  });
  await section(r, o, 'failover', async () => { r.failover = await runFailover(ctx, o.failoverTrials, 100); });
  await section(r, o, 'flood', async () => { r.flood = await runFlood(ctx, { trials: o.floodTrials, procs: 100 }); });
}

async function labSections(r: BenchResults, o: BenchOptions, ctx: RunContext): Promise<void> {
  const wanted: Section[] = ['startup', 'overhead', 'silent', 'stress'];
  if (!wanted.some((s) => o.sections.includes(s))) return;
  say('bench: building the lab (wireguard-go tunnel) and starting a daemon in it');
  let s: LabSession | undefined;
  try {
    s = await openLabSession(ctx.suffix);
    const lab = s;
    await section(r, o, 'startup', async () => { r.startup = await runStartup(lab, o.startupTrials); });
    await section(r, o, 'overhead', async () => {
      r.overhead = { throughput: null, latency: [] };
      r.overhead.throughput = await runThroughput(lab, o.iperfRounds, o.iperfSeconds);
      r.overhead.latency = await runLatency(lab, o.latencyRounds, o.echoes);
    });
    await section(r, o, 'silent', async () => { r.silent = await runSilent(lab, o.silentTrials, say); });
    await section(r, o, 'stress', async () => {
      await lab.daemon.stop(); // the stress test runs its own supervisor: one ksapp table per namespace
      r.stress = await runStress(ctx, lab, o.faults, o.senderIntervalMs);
    });
  } catch (error) {
    r.errors.lab = error instanceof Error ? error.message : String(error);
  } finally {
    await s?.close();
  }
}

async function main(): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    say(`bench: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (o.help) { console.log(USAGE); return 0; }
  if (process.getuid?.() !== 0) { say('bench: must run as root (it creates network namespaces and cgroups)'); return 2; }
  installSignalCleanup();
  const suffix = randomBytes(3).toString('hex');
  const r = emptyResults(machine(), o);
  try {
    const ctx: RunContext = { suffix, cgroupRoot: await cgroupRoot(), say };
    await bareSections(r, o, ctx);
    await labSections(r, o, ctx);
  } finally {
    await cleanupAll(say);
  }
  r.goals = checkGoals(r);
  console.log(formatReport(r));
  await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
  await writeFile(o.out, `${JSON.stringify(r, null, 2)}\n`);
  say(`bench: results written to ${o.out}`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (error: unknown) => {
  say(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exitCode = 1;
});
