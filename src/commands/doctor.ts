import { runChecks, type CheckResult } from './doctor-checks.js';

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
export async function doctorCommand(json: boolean): Promise<number> {
  const results = await runChecks();
  const ok = results.every((r) => r.ok || r.optional);
  process.stdout.write(json ? `${JSON.stringify({ ok, checks: results }, null, 2)}\n` : `${formatChecks(results)}\n`);
  return ok ? 0 : 1;
}
