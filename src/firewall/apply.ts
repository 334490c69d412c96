import { runTool, tools } from '../tools.js';
import { FirewallError } from './errors.js';
import type { FirewallPolicy } from './policy.js';
import { parseTableJson, verifyTable, type TableFacts } from './readback.js';
import { FORMAT_MARKER, TABLE, quote, removeTransaction, replaceTransaction } from './ruleset.js';

/** Whether table `inet ksapp` exists in this network namespace (one `nft -j list tables inet`). */
export async function tableExists(): Promise<boolean> {
  return hasTable(await runTool(tools.nft, ['-j', 'list', 'tables', 'inet']), TABLE);
}

/** Whether `nft -j list tables` output names table `name` of family inet (pure). */
export function hasTable(json: string, name: string): boolean {
  const items = (JSON.parse(json || '{}') as { nftables?: Array<{ table?: { family?: string; name?: string } }> }).nftables ?? [];
  return items.some((i) => i.table?.family === 'inet' && i.table.name === name);
}

/** Reads what identifies table `inet ksapp` (its counters and chain names, not its rules); undefined when there is none. */
export async function readTable(): Promise<TableFacts | undefined> {
  // Whether the table exists is asked first: nft says "missing" only in English text (exit status 1, like any failure).
  if (!(await tableExists())) return undefined;
  try {
    const [counters, chains] = await Promise.all([
      runTool(tools.nft, ['-j', 'list', 'counters', 'table', 'inet', TABLE]),
      runTool(tools.nft, ['-j', 'list', 'chains', 'inet']),
    ]);
    return parseTableJson(counters, chains);
  } catch (error) {
    throw new FirewallError('cannot read the ksapp firewall table', { code: 'FW_READ', cause: error });
  }
}

/** Refuses a table `inet ksapp` that this ruleset format did not write: it may protect apps this ksapp does not know about. */
export async function requireOwnTable(): Promise<TableFacts | undefined> {
  const table = await readTable();
  if (table && !table.counters.has(FORMAT_MARKER)) {
    throw new FirewallError('table inet ksapp exists but was not written by this version of ksapp; it was left untouched', {
      code: 'FW_FOREIGN_TABLE',
      hint: 'inspect it with `nft list table inet ksapp`; if nothing depends on it, remove it with `nft delete table inet ksapp`',
      exitCode: 1,
    });
  }
  return table;
}

/**
 * Replaces table `inet ksapp` with the policy's ruleset in one transaction,
 * then reads it back. A table written by something else is never replaced.
 */
export async function applyPolicy(policy: FirewallPolicy): Promise<TableFacts> {
  // Once this process has written and read back its own table, the table is ours: the check is not repeated
  // on every app start (each check is two nft runs on `ksapp run`'s path).
  if (!ownTableSeen) await requireOwnTable();
  try {
    await runTool(tools.nft, ['-f', '-'], replaceTransaction(policy));
  } catch (error) {
    throw new FirewallError('the kernel refused the ksapp ruleset; the previous rules stay in force', {
      code: 'FW_APPLY',
      hint: 'run `ksapp doctor` to check nftables and `socket cgroupv2` support',
      cause: error,
    });
  }
  const after = await readTable();
  const problems = after ? verifyTable(after, policy) : ['table missing after apply'];
  if (!after || problems.length > 0) {
    ownTableSeen = false;
    throw new FirewallError(`the kernel's ksapp table does not hold what was applied: ${problems.join('; ')}`, {
      code: 'FW_VERIFY',
      userFixable: false,
    });
  }
  ownTableSeen = true;
  return after;
}

let ownTableSeen = false;

/** Removes table `inet ksapp` (no error when it is already gone). */
export async function removeTable(): Promise<void> {
  ownTableSeen = false;
  await runTool(tools.nft, ['-f', '-'], removeTransaction());
}

/**
 * Checks, without changing anything, that ksapp can own the firewall here:
 * table `inet ksapp` is absent or ours (checked first, so a caller that goes
 * on to add routing never does so next to a foreign table), and nft accepts a
 * `socket cgroupv2` match on the given cgroup (a dry-run transaction).
 */
export async function checkCgroupMatchSupport(nftPath: string, level: number): Promise<void> {
  await requireOwnTable();
  const probe = `table inet ksapp_probe {\n chain c {\n  type filter hook output priority 0;\n  socket cgroupv2 level ${level} ${quote(nftPath)} accept\n }\n}\n`;
  try {
    await runTool(tools.nft, ['-c', '-f', '-'], probe);
  } catch (error) {
    throw new FirewallError('this nftables cannot match packets by cgroup (`socket cgroupv2`); no rules were changed', {
      code: 'FW_NO_CGROUPV2_MATCH',
      hint: 'ksapp needs nftables ≥ 0.9.5 and a kernel with nft_socket (CONFIG_NFT_SOCKET); install the `nftables` package',
      cause: error,
    });
  }
}
