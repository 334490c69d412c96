// The printed report: one table per section, then the goals (pure).
import { describeMachine } from './machine.js';
import { FAILOVER_METHOD, REACTION_METHOD, type BenchResults } from './results.js';
import type { Summary } from './stats.js';
import { ms, table } from './table.js';

const trio = (s: Summary | null | undefined): string[] => [ms(s?.median), ms(s?.p99), ms(s?.max)];

function reaction(r: BenchResults): string[] {
  if (!r.reaction) return [];
  const rows = r.reaction.configs.map((c) => [c.policy, String(c.perGroup), String(c.ksapp?.n ?? 0), ...trio(c.ksapp), ...trio(c.outside), ...trio(c.kernel), c.error ? `error: ${c.error}` : '']);
  return ['## Reaction: tunnel interface deleted → protected group frozen / killed (ms)', `measured: ${REACTION_METHOD}`, '',
    table(['policy', 'procs', 'trials', 'ksapp med', 'p99', 'max', 'outside med', 'p99', 'max', 'kernel med', 'p99', 'max', ''], rows), ''];
}

function exec(r: BenchResults): string[] {
  const e = r.exec;
  if (!e) return [];
  return ['## Confinement at exec: a program the exec guard marks against an unmarked copy (spawn → exit of `true`, ms)', '',
    table(['program', 'execs', 'median', 'p99', 'max'], [
      ['marked (staged before its first instruction)', String(e.marked?.n ?? 0), ...trio(e.marked)],
      ['unmarked, guard armed', String(e.unmarked?.n ?? 0), ...trio(e.unmarked)],
      ['unmarked, no guard', String(e.noGuard?.n ?? 0), ...trio(e.noGuard)],
      ['floor: one pid written to cgroup.procs', String(e.cgroupMove?.n ?? 0), ...trio(e.cgroupMove)],
    ]),
    `added by the mark (median): ${ms(e.addedMs ?? undefined)} ms; paid by an unmarked program (median): ${ms(e.unmarkedCostMs ?? undefined)} ms`, ''];
}

function daemon(r: BenchResults): string[] {
  const d = r.daemon;
  if (!d) return [];
  const out = ['## The daemon (`ksapp daemon` in a bare namespace, tun tunnel, no probe)'];
  if (d.idle) {
    out.push(`idle with ${d.idle.apps} apps (sampled 10 s after the last registration): RSS ${d.idle.rssMiB} MiB; CPU ${d.idle.cpuMs} ms over ${d.idle.seconds} s (${d.idle.cpuPercent} %; 10 ms ticks per second: ${d.idle.ticksPerSecond.join(' ')}), its children (ip monitor) ${d.idle.childrenCpuMs} ms`);
    out.push(`registering them over the socket (one \`register\` each, as \`ksapp run\` does): first ${ms(d.idle.registerMs[0])} ms, median ${ms(d.idle.register?.median)} ms, last ${ms(d.idle.registerMs.at(-1))} ms`);
  }
  if (d.reaction) {
    out.push(`reaction read from its event log (freeze, ${d.reaction.procs} processes, ${d.reaction.ksapp?.n ?? 0} trials 10.5 s apart for the hold-down): ` +
      `ksapp median ${ms(d.reaction.ksapp?.median)} / max ${ms(d.reaction.ksapp?.max)} ms; outside median ${ms(d.reaction.outside?.median)} / max ${ms(d.reaction.outside?.max)} ms`);
  }
  if (d.error) out.push(`error: ${d.error}`);
  return [...out, ''];
}

function failover(r: BenchResults): string[] {
  const f = r.failover;
  if (!f) return [];
  const row = (name: string, s: Summary | null): string[] => [name, String(s?.n ?? 0), ms(s?.median), ms(s?.max), ratio(s, f.reaction)];
  return [`## Failover: first tunnel deleted → an app with the order first,second frozen, moved, thawed on the second (${f.procs} processes per app; ms)`,
    `measured: ${FAILOVER_METHOD}`, '',
    table(['', 'trials', 'median', 'max', '× reaction'], [
      row('reference: plain reaction (fault → lone app frozen)', f.reaction),
      row('gap: fault → moving app thawed on the 2nd tunnel', f.gap),
      row('  of which frozen (frozen → thawed)', f.frozen),
      row('ksapp reactionMs (event → both apps acted on)', f.ksapp),
      row('failback: frozen → thawed back on the 1st tunnel', f.failbackFrozen)]),
    `gap / reaction (medians): ${f.ratio ?? '-'} — the ratio carries over to other machines; the absolute figures are this machine's (heading above); failed trials: ${f.failedTrials}`,
    ...(f.error ? [`error: ${f.error}`] : []), ''];
}

const ratio = (s: Summary | null, ref: Summary | null): string =>
  s && ref && ref.median > 0 ? (s.median / ref.median).toFixed(2) : '-';

function flood(r: BenchResults): string[] {
  const f = r.flood;
  if (!f) return [];
  const a = f.attacker;
  return ['## Under a flood from a non-root user (`ksapp daemon` with its shipped limits; tunnel deleted → app of ' +
    `${f.procs} processes frozen, seen from outside; trials alternate idle / flooded; ms)`, '',
    table(['', 'trials', 'median', 'p99', 'max', 'daemon reactionMs med', 'max'], [
      ['idle', String(f.idle?.n ?? 0), ...trio(f.idle), ms(f.idleKsapp?.median), ms(f.idleKsapp?.max)],
      ['under flood', String(f.flood?.n ?? 0), ...trio(f.flood), ms(f.floodKsapp?.median), ms(f.floodKsapp?.max)]]),
    `flooded / idle (medians): ${f.ratio ?? '-'}; failed trials: ${f.failedTrials}`,
    `root's \`ksapp status --json\` (new process each time): idle median ${ms(f.rootStatus.idle?.median)} ms, during the flood median ${ms(f.rootStatus.flood?.median)} / max ${ms(f.rootStatus.flood?.max)} ms; ` +
      `${f.rootStatus.answered ? 'every one answered' : 'SOME DID NOT ANSWER'}; over a fresh connection: idle median ${ms(f.rootRoundTrip.idle?.median)} ms, ` +
      `flooded median ${ms(f.rootRoundTrip.flood?.median)} / max ${ms(f.rootRoundTrip.flood?.max)} ms (root's own socket: median ${ms(f.rootRoundTrip.floodRootSocket?.median)} / max ${ms(f.rootRoundTrip.floodRootSocket?.max)} ms)`,
    `the daemon's CPU while flooded: ${f.daemonCpuPercent ?? '-'} % of one CPU`,
    `the flood (uid 65534): ${a.requestsAnswered} status requests answered on 4 connections, ${a.connectionsAccepted} connections accepted and ${a.connectionsRefused} refused ` +
      `(500 attempts kept going); the daemon ran at most ${a.peakNft} nft at once`,
    ...(f.error ? [`error: ${f.error}`] : []), ''];
}

function scale(r: BenchResults): string[] {
  const s = r.scale;
  if (!s) return [];
  const apply = s.apply.map((a) => [String(a.apps), String(a.apply?.n ?? 0), ms(a.apply?.median), ms(a.apply?.max), ms(a.nft?.median), ms(a.nft?.max), `${Math.round(a.rulesetBytes / 1024)} KiB`,
    a.rttUs === undefined ? '-' : `${a.rttUs} µs`]);
  const all = s.freezeAll.map((c) => [String(c.groups), String(c.ksapp?.n ?? 0), ...trio(c.ksapp), ...trio(c.outside), ...trio(c.kernel), c.error ? `error: ${c.error}` : '']);
  return ['## Scale: the ruleset with N protected apps (ms; applyPolicy = read + one `nft -f` + read-back and verify)', '',
    table(['apps', 'runs', 'applyPolicy med', 'max', 'nft -f med', 'max', 'ruleset', 'loopback UDP rtt, unprotected'], apply),
    `the same round trip with no ksapp table: ${s.bareRttUs ?? '-'} µs (the floor; every packet of the machine meets the classify chain)`,
    'applyPolicy − nft -f = the two `nft -j list table` calls (before, and the read-back), where nft resolves every cgroupv2 id by walking the cgroup tree', '',
    '## Scale: tunnel deleted → all N apps frozen (1 process each; outside = the supervisor\'s event received)', '',
    table(['apps', 'trials', 'ksapp med', 'p99', 'max', 'outside med', 'p99', 'max', 'kernel med', 'p99', 'max', ''], all),
    ...(s.error ? [`error: ${s.error}`] : []), ''];
}

function lab(r: BenchResults): string[] {
  const out: string[] = [];
  const st = r.startup;
  if (st) {
    out.push('## Start-up (daemon already running; lab client namespace; ms)', '',
      table(['command', 'median', 'p99', 'max'], [['ksapp run -- true', ...trio(st.ksappRun)], ['true', ...trio(st.direct)], ['node -e 0 (for scale)', ...trio(st.nodeBare)]]),
      `added by ksapp run: ${st.addedMs} ms${st.failed ? ` (${st.failed} runs failed)` : ''}`, '');
  }
  const o = r.overhead;
  if (o?.throughput) {
    const t = o.throughput;
    out.push('## Overhead: iperf3 through the WireGuard tunnel to 10.66.0.1 (Mbit/s per round, alternated)',
      `unconfined ${t.unconfinedMbps.join(', ')}; under ksapp ${t.protectedMbps.join(', ')}; ratio of medians ${t.ratio}`, '');
  }
  if (o?.latency.length) {
    out.push('## Overhead: request/response round trips (ms; 32-byte echoes, sequential)', '',
      table(['path', 'proto', 'unconfined med', 'p99', 'ksapp med', 'p99', 'added (µs)', 'lost'],
        o.latency.map((l) => [l.path, l.proto, ms(l.unconfined?.median), ms(l.unconfined?.p99), ms(l.protected?.median), ms(l.protected?.p99), String(l.addedUs), String(l.lost)])), '');
  }
  if (o?.error) out.push(`overhead error: ${o.error}`, '');
  const si = r.silent;
  if (si) {
    out.push('## Silent failure: VPN server SIGKILLed → tunnel down (default probe 500 ms × 3; ms)', '',
      table(['from the kill to', 'trials', 'median', 'p99', 'max'], [['tunnel-down event', String(si.detected?.n ?? 0), ...trio(si.detected)], ['app frozen (outside)', String(si.frozen?.n ?? 0), ...trio(si.frozen)]]), '');
  }
  const x = r.stress;
  if (x) {
    const by = (t: { tunnelByProto: Record<string, number> }, k: string): string => String(t.tunnelByProto[k] ?? 0);
    const row = (name: string, t: { viaTunnel: number; fromClient: number; tunnelByProto: Record<string, number> }) =>
      [name, String(t.viaTunnel), by(t, 'udp'), by(t, 'tcp'), by(t, 'udp6'), by(t, 'tcp6'), String(t.fromClient)];
    out.push(`## Leaks under stress: ${x.faults} faults (${Object.entries(x.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}) in ${x.seconds} s; senders every ${x.senderIntervalMs} ms, TCP+UDP, v4+v6`, '',
      table(['app', 'via tunnel', 'udp', 'tcp', 'udp6', 'tcp6', 'from elsewhere (leaks if protected)'], [row('protected, freeze', x.apps.freeze), row('protected, block', x.apps.block), row('unprotected (control)', x.apps.unprotected)]),
      `LEAKED protected packets: ${x.leaked}; tunnel-down transitions the supervisor reacted to: ${x.tunnelDowns}${x.error ? `; stopped early: ${x.error}` : ''}`, '');
  }
  return out;
}

/** The whole report. */
export function formatReport(r: BenchResults): string {
  const goals = r.goals.map((g) => [g.goal, g.measured, g.met === null ? '-' : g.met ? 'met' : 'MISSED']);
  const errors = Object.entries(r.errors).map(([k, v]) => `section ${k} failed: ${v}`);
  return ['# ksapp benchmarks', describeMachine(r.machine),
    `sizes: ${r.options.quick ? 'QUICK (smoke run) — ' : ''}${r.options.trials} reaction trials, ${r.options.faults} faults; sections ${r.options.sections.join(', ')}`, '',
    ...reaction(r), ...scale(r), ...exec(r), ...daemon(r), ...failover(r), ...flood(r), ...lab(r), ...errors, errors.length ? '' : '',
    '## Goals (a missed goal is a figure to improve, not a failure of this script)', '', table(['goal', 'measured', ''], goals),
    '', `section times (s): ${Object.entries(r.seconds).map(([k, v]) => `${k} ${v}`).join(', ')}`].join('\n');
}
