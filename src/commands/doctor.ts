import { DaemonClient } from '../ipc/client.js';
import type { Status } from '../ipc/protocol.js';
import { socketPathFrom } from '../ipc/socket-path.js';
import { runChecks, type CheckResult } from './doctor-checks.js';

/** How the running daemon guards each config rule, as checks (pure); a rule with a window is a warning. */
export function ruleChecks(rules: NonNullable<Status['rules']>): CheckResult[] {
  return rules.map((r) => ({
    name: `rule ${r.app}`, optional: true, ok: r.guard !== 'after-start',
    detail: r.guard === 'exec' ? 'confined at exec, before its first instruction'
      : r.guard === 'unit' ? (r.why ?? 'started confined by its unit\'s drop-in')
        : `${r.why ?? 'not guarded at exec'}: new instances run unprotected until adopted (each app-adopted event gives the window)`,
    fix: 'name the program with `exe:` (an absolute path to a regular file), or start the app through `ksapp run`',
  }));
}

/** How each tunnel the running daemon watches is watched, as checks (pure); a failure that would go unseen is a warning. */
export function tunnelChecks(status: Pick<Status, 'tunnel' | 'tunnels'>): CheckResult[] {
  return (status.tunnels ?? [status.tunnel]).flatMap((t) => (t.sources === undefined ? [] : [{
    name: `tunnel ${t.interface}`, optional: true, ok: t.advice === undefined,
    detail: `${t.kind ?? 'kind not known yet'}, watched by ${t.sources.join(', ')}${t.advice ? `: ${t.advice}` : ''}`,
    ...(t.advice ? { fix: 'configure a probe (see the detail)' } : {}),
  }]));
}

/** The running daemon's rules and tunnels, or nothing when no daemon answers. */
async function daemonRules(socket: string | undefined): Promise<CheckResult[]> {
  const client = await DaemonClient.connect(socketPathFrom(socket)).catch(() => undefined);
  if (!client) return [];
  try {
    const status = await client.request<Status>({ op: 'status' });
    return [...tunnelChecks(status), ...ruleChecks(status.rules ?? [])];
  } catch {
    return [];
  } finally {
    client.close();
  }
}

/** Formats check results as a human report (pure). */
export function formatChecks(results: readonly CheckResult[]): string {
  const lines = results.map((r) => {
    const mark = r.ok ? 'ok  ' : r.optional ? 'warn' : 'FAIL';
    const fix = r.ok || !r.fix ? '' : `\n        fix: ${r.fix}`;
    return `[${mark}] ${r.name}: ${r.detail}${fix}`;
  });
  const failed = results.filter((r) => !r.ok && !r.optional).length;
  lines.push(failed === 0 ? 'All prerequisites are met.' : `${failed} prerequisite(s) missing: ksapp cannot protect apps until they are fixed.`);
  return lines.join('\n');
}

/** `ksapp doctor`: prints every prerequisite and exits 1 when a required one is missing. */
export async function doctorCommand(json: boolean, socket?: string): Promise<number> {
  const results = [...(await runChecks()), ...(await daemonRules(socket))];
  const ok = results.every((r) => r.ok || r.optional);
  process.stdout.write(json ? `${JSON.stringify({ ok, checks: results }, null, 2)}\n` : `${formatChecks(results)}\n`);
  return ok ? 0 : 1;
}
