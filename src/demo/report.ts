import type { DemoReport } from './scenario.js';

const ms = (v: number | null): string => (v === null ? '-' : v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
const yes = (v: boolean | null): string => (v === null ? '-' : v ? 'yes' : 'NO');

/** Formats the demo report as a text table (pure). */
export function formatReport(r: DemoReport): string {
  const head = ['fault', 'sent', 'via tunnel', 'LEAKED', 'ISP DNS', 'frozen', 'reaction', 'detected', 'thawed', 'other app ok'];
  const rows = r.faults.map((f) => [
    f.label, String(f.sent), String(f.viaTunnel), String(f.leaked), String(f.ispDns), yes(f.froze),
    ms(f.reactionMs), ms(f.detectMs), yes(f.thawed && f.resumed), yes(f.unprotectedKeptWorking),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    `ksapp demo — leak report (lab mode: ${r.mode})`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `whole run: protected app sent ${r.totals.sent} packets; ${r.totals.viaTunnel} reached the internet host through the tunnel; ` +
      `${r.totals.leaked} leaked from the client's own address; ${r.totals.ispDns} DNS queries reached the ISP resolver; ` +
      `${r.totals.tunnelDnsAnswered} were answered by the tunnel's resolver.`,
    `cleanup: ${r.cleanedUp ? 'ksapp removed its cgroup and firewall table' : 'LEFTOVERS'}`,
    ...r.problems.map((p) => `problem: ${p}`),
    r.ok ? 'RESULT: PASS — nothing leaked and every check held.' : 'RESULT: FAIL — see the rows marked LEAKED/NO above.',
  ];
  return out.join('\n');
}
