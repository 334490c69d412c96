import { FORMAT_MARKER } from './ruleset.js';
import type { FirewallPolicy } from './policy.js';

/** What `nft -j list table inet ksapp` says the kernel holds, reduced to what we verify. */
export interface TableFacts {
  /** Chain names in the table. */
  readonly chains: ReadonlySet<string>;
  /** Named counters with their values. */
  readonly counters: ReadonlyMap<string, { packets: number; bytes: number }>;
}

type NftItem = Record<string, Record<string, unknown> | undefined>;

/** Parses nft's JSON listings (a table, its counters, the family's chains), keeping only table `ksapp` (pure). */
export function parseTableJson(...jsons: string[]): TableFacts {
  const items = jsons.flatMap((json) => (JSON.parse(json) as { nftables?: NftItem[] }).nftables ?? [])
    .filter((item) => Object.values(item).every((v) => v === undefined || v.table === undefined || v.table === 'ksapp'));
  const chains = new Set<string>();
  const counters = new Map<string, { packets: number; bytes: number }>();
  for (const item of items) {
    if (item.chain) chains.add(String(item.chain.name));
    if (item.counter) {
      counters.set(String(item.counter.name), {
        packets: Number(item.counter.packets ?? 0),
        bytes: Number(item.counter.bytes ?? 0),
      });
    }
  }
  return { chains, counters };
}

/** Lists what the kernel table lacks compared with the policy; empty when it holds what was meant. */
export function verifyTable(facts: TableFacts, policy: FirewallPolicy): string[] {
  const problems: string[] = [];
  if (!facts.counters.has(FORMAT_MARKER)) problems.push(`format marker ${FORMAT_MARKER} missing`);
  for (const chain of ['classify', 'egress', 'egress_protected', 'ingress', 'dns_guard', 'dns_redirect', 'snat_tunnel']) {
    if (!facts.chains.has(chain)) problems.push(`chain ${chain} missing`);
  }
  // nft -f is one transaction, so the rules are all there or none is; what is read back is what identifies
  // this policy: each app's chains and counters. (Listing the rules themselves would make nft walk the whole
  // cgroup tree once per cgroup match — seconds at a hundred apps.)
  for (const app of policy.apps) {
    for (const chain of [`app_${app.id}`, `protect_${app.id}`]) if (!facts.chains.has(chain)) problems.push(`chain ${chain} (${app.name}) missing`);
    for (const counter of [`tx_${app.id}`, `drop_${app.id}`]) if (!facts.counters.has(counter)) problems.push(`counter ${counter} (${app.name}) missing`);
  }
  const extra = [...facts.chains].filter((c) => /^app_\d+$/.test(c) && !policy.apps.some((a) => `app_${a.id}` === c));
  if (extra.length > 0) problems.push(`chains of apps no longer protected remain: ${extra.join(', ')}`);
  return problems;
}

/** Per-app packet counters from the table facts. */
export function appCounters(facts: TableFacts, id: number): { tunnelPackets: number; tunnelBytes: number; dropped: number } {
  const tx = facts.counters.get(`tx_${id}`);
  const drop = facts.counters.get(`drop_${id}`);
  return { tunnelPackets: tx?.packets ?? 0, tunnelBytes: tx?.bytes ?? 0, dropped: drop?.packets ?? 0 };
}
