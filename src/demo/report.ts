import type { FailoverResult } from './failover.js';
import type { DemoReport } from './scenario.js';

const ms = (v: number | null): string => (v === null ? '-' : v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
const yes = (v: boolean | null): string => (v === null ? '-' : v ? 'yes' : 'NO');

/** A heading, a rule and rows: the first column left-aligned, the others right-aligned (pure). */
function layout(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** The failover section: one row for the app with a failover order, and what its columns mean (pure). */
export function formatFailover(f: FailoverResult | null): string[] {
  if (!f) return ['failover: not run (this lab has one VPN server; a lab built with tunnels: 2 adds it)'];
  const head = ['failover (first tunnel fails)', 'sent', 'via 1st', 'via 2nd', 'LEAKED', 'ISP DNS', 'detected', 'frozen', 'gap', 'moved', 'moved back'];
  const row = [f.label, String(f.sent), String(f.viaFirst), String(f.viaSecond), String(f.leaked), String(f.ispDns),
    ms(f.detectMs), ms(f.frozenMs), ms(f.gapMs), yes(f.moved), yes(f.movedBack)];
  return [
    `failover — an app started with \`ksapp run --tunnel ${f.tunnels.join(',')}\` (the first VPN server, then the second), over its whole life:`,
    '',
    ...layout(head, [row]),
    '',
    'detected: fault → app frozen for its move; frozen: frozen → thawed on the second tunnel (both seen on its cgroup.events); ' +
      `ksapp's own figure, event seen → frozen, moved and thawed: ${ms(f.moveMs)}.`,
    `gap: at the internet host, its last packet through the first tunnel → its first through the second; back on the first tunnel after a ${ms(f.backGapMs)} gap; ` +
      `${f.dnsViaSecond} of its DNS queries were answered by the second tunnel's resolver.`,
  ];
}

/** Formats the demo report as a text table (pure). */
export function formatReport(r: DemoReport): string {
  const head = ['fault', 'sent', 'via tunnel', 'LEAKED', 'ISP DNS', 'frozen', 'reaction', 'detected', 'thawed', 'other app ok'];
  const rows = r.faults.map((f) => [
    f.label, String(f.sent), String(f.viaTunnel), String(f.leaked), String(f.ispDns), yes(f.froze),
    ms(f.reactionMs), ms(f.detectMs), yes(f.thawed && f.resumed), yes(f.unprotectedKeptWorking),
  ]);
  const out = [
    `ksapp demo — leak report (lab mode: ${r.mode})`,
    ...(r.vpn === 'wireguard-go' ? [] : [`VPN client: ${r.vpn}`]),
    '',
    ...layout(head, rows),
    '',
    `whole run: protected app sent ${r.totals.sent} packets; ${r.totals.viaTunnel} reached the internet host through the tunnel; ` +
      `${r.totals.leaked} leaked from the client's own address; ${r.totals.ispDns} DNS queries reached the ISP resolver; ` +
      `${r.totals.tunnelDnsAnswered} were answered by the tunnel's resolver.`,
    '',
    ...formatFailover(r.failover),
    '',
    `cleanup: ${r.cleanedUp ? 'ksapp removed its cgroup and firewall table' : 'LEFTOVERS'}`,
    ...r.problems.map((p) => `problem: ${p}`),
    r.ok ? 'RESULT: PASS — nothing leaked and every check held.' : 'RESULT: FAIL — see the rows marked LEAKED/NO above.',
  ];
  return out.join('\n');
}
