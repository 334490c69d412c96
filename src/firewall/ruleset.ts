import { parseIp } from '../config/ip.js';
import { parseLocal } from './conntrack.js';
import { forwardedChains, hasForwarded } from './forwarded-rules.js';
import { address, cidr, hex, PROTECTED, PROTECTED_CT, quote, UNMARKED } from './nft-text.js';
import { DEFAULT_LAN, MARK_BASE, MARK_MASK, markFor, SLOT_MASK, slotMark, type AppRule, type FirewallPolicy, type HopGuard, type NamedAddresses } from './policy.js';

export { quote } from './nft-text.js';

/** Name of the table ksapp owns. */
export const TABLE = 'ksapp';
/** Named counter whose presence says the table was written by this ruleset format. */
export const FORMAT_MARKER = 'ksapp_format_1';

const cgroupMatch = (ref: { nftPath: string; level: number }): string =>
  `socket cgroupv2 level ${ref.level} ${quote(ref.nftPath)}`;

/** A set of addresses an app may reach directly, and the family it matches. */
interface DirectSet { readonly family: 'ip' | 'ip6'; readonly set: string }

/** The direct sets of an allowlist scope: `suffix` '' for the config's, `_N` for app N's. */
function directSets(allow: AppRule['allow'], named: NamedAddresses | undefined, suffix: string): DirectSet[] {
  return [
    ...(allow?.v4.length ? [{ family: 'ip', set: `allow4${suffix}` } as const] : []),
    ...(allow?.v6.length ? [{ family: 'ip6', set: `allow6${suffix}` } as const] : []),
    ...(named ? [{ family: 'ip', set: `allowname4${suffix}` } as const, { family: 'ip6', set: `allowname6${suffix}` } as const] : []),
  ];
}

/** The LAN ranges an allow-lan app reaches directly: their replies come back in like an allowlist's. */
const LAN_SETS: readonly DirectSet[] = [{ family: 'ip', set: 'lan4' }, { family: 'ip6', set: 'lan6' }];

const ownSets = (app: AppRule): DirectSet[] => directSets(app.allow, app.allowNamed, `_${app.id}`);

/**
 * Output-route rules for one app: its allowlist (direct, also while blocked; DNS
 * never), LAN exceptions, the block verdict, then the mark that steers into the
 * tunnel. A packet accepted here keeps no mark: it takes the main routing table.
 */
function appChain(app: AppRule, shared: readonly DirectSet[]): string[] {
  const rules: string[] = [];
  const direct = [...shared, ...ownSets(app)];
  if (direct.length) {
    // DNS to an allowlisted address still goes to the tunnel's resolver (or nowhere while blocked).
    rules.push(`meta l4proto { tcp, udp } th dport 53 ${app.blocked ? `counter name "drop_${app.id}" drop` : `jump protect_${app.id}`}`);
    rules.push(...direct.map((d) => `${d.family} daddr @${d.set} accept`));
  }
  if (app.blocked) rules.push(`counter name "drop_${app.id}" drop`);
  if (app.allowLan && !app.blocked) {
    // DNS to a LAN resolver would bypass the tunnel's resolver, so port 53 stays protected.
    rules.push('meta l4proto { tcp, udp } th dport 53 jump protect_' + app.id);
    rules.push('ip daddr @lan4 accept', 'ip6 daddr @lan6 accept');
  }
  rules.push(`jump protect_${app.id}`);
  return [
    `  chain app_${app.id} {`,
    ...rules.map((r) => `    ${r}`),
    '  }',
    `  chain protect_${app.id} {`,
    `    meta mark set ${hex(markFor(app.id, app.slot))} ct mark set meta mark accept`,
    '  }',
  ];
}

const set = (name: string, type: string, elements: readonly string[]): string =>
  `  set ${name} { type ${type}; flags interval; elements = { ${elements.map(cidr).join(', ')} } }`;

/** The sets of a scope's resolved names: each address expires in the kernel when its record does, whether or not ksapp still runs. */
function timedSets(named: NamedAddresses | undefined, suffix: string): string[] {
  if (!named) return [];
  const one = (name: string, type: string, items: NamedAddresses['v4']): string => {
    const elements = items.map((i) => `${address(i.addr)} timeout ${Math.max(1, Math.ceil(i.timeoutMs))}ms`);
    return `  set ${name} { type ${type}; flags timeout;${elements.length ? ` elements = { ${elements.join(', ')} }` : ''} }`;
  };
  return [one(`allowname4${suffix}`, 'ipv4_addr', named.v4), one(`allowname6${suffix}`, 'ipv6_addr', named.v6)];
}

/**
 * The rules that send a packet to its app's chain. Every packet of the
 * machine passes here, so the apps right below the parent (all but those
 * protected in place) are found by one lookup in a map keyed by their group,
 * not by a walk past one rule per app: the cost per packet does not grow with
 * the number of apps. Groups protected in place sit at other depths and keep
 * a rule each, after the map.
 */
function classifyApps(apps: readonly AppRule[], parentLevel: number): string[] {
  const below = apps.filter((a) => a.cgroup.level === parentLevel + 1);
  const elsewhere = apps.filter((a) => a.cgroup.level !== parentLevel + 1);
  const map = below.length
    ? [`    socket cgroupv2 level ${parentLevel + 1} vmap { ${below.map((a) => `${quote(a.cgroup.nftPath)} : goto app_${a.id}`).join(', ')} }`]
    : [];
  return [...map, ...elsewhere.map((a) => `    ${cgroupMatch(a.cgroup)} goto app_${a.id}`)];
}

/** Returns the full text of table `inet ksapp` for a policy, ready for one `nft -f` transaction. */
export function rulesetFor(policy: FirewallPolicy): string {
  const tun = policy.tunnelIface === null ? null : quote(policy.tunnelIface);
  const extra = policy.tunnels ?? [];
  const allTuns = [...(tun ? [tun] : []), ...extra.map((t) => quote(t.iface))];
  const apps = [...policy.apps].sort((a, b) => a.id - b.id);
  const lan4 = policy.lan.v4.length ? policy.lan.v4 : DEFAULT_LAN.v4;
  const lan6 = policy.lan.v6.length ? policy.lan.v6 : DEFAULT_LAN.v6;
  const parent = cgroupMatch(policy.parent);
  const vmap = (prefix: string, only = apps): string =>
    only.map((a) => `${hex(markFor(a.id, a.slot))} : jump ${prefix}_${a.id}`).join(', ');
  const onSlot = (slot: number): AppRule[] => apps.filter((a) => (a.slot ?? 0) === slot);
  const shared = directSets(policy.allow, policy.allowNamed, '');
  const lines: string[] = [
    `table inet ${TABLE} {`,
    `  counter ${FORMAT_MARKER} {}`,
    '  counter hop_drop {}',
    ...apps.flatMap((a) => [`  counter tx_${a.id} {}`, `  counter drop_${a.id} {}`]),
    '  counter drop_unknown {}',
    set('lan4', 'ipv4_addr', lan4),
    set('lan6', 'ipv6_addr', lan6),
    ...(policy.allow?.v4.length ? [set('allow4', 'ipv4_addr', policy.allow.v4)] : []),
    ...(policy.allow?.v6.length ? [set('allow6', 'ipv6_addr', policy.allow.v6)] : []),
    ...timedSets(policy.allowNamed, ''),
    ...apps.flatMap((a) => [
      ...(a.allow?.v4.length ? [set(`allow4_${a.id}`, 'ipv4_addr', a.allow.v4)] : []),
      ...(a.allow?.v6.length ? [set(`allow6_${a.id}`, 'ipv6_addr', a.allow.v6)] : []),
      ...timedSets(a.allowNamed, `_${a.id}`),
    ]),
    // Classify: the per-app rules come first; the parent rule catches any group below it.
    '  chain classify {',
    '    type route hook output priority mangle; policy accept;',
    ...classifyApps(apps, policy.parent.level),
    `    ${parent} meta mark set ${hex(markFor(0))} ct mark set meta mark`,
    // Packets the kernel sends for a protected connection from its own control socket
    // (resets, TIME_WAIT acks) belong to no cgroup: the connection's mark steers them.
    `    ${UNMARKED} ${PROTECTED_CT} meta mark set ct mark`,
    // A socket opened before its app was adopted carries the app's mark itself (SO_MARK, set by the
    // daemon): its flows are the app's too.
    `    ${PROTECTED} ct mark set meta mark`,
    '  }',
    ...apps.flatMap((a) => appChain(a, shared)),
    ...forwardedChains(apps, allTuns, (slot) => resolversOf(extra.find((t) => t.slot === slot)?.dns, policy.dns)),
    // Loopback DNS would reach a local stub that forwards outside the tunnel; a
    // loopback source cannot be rewritten into the tunnel, so it is refused.
    '  chain dns_guard {',
    '    type filter hook output priority filter; policy accept;',
    `    ${parent} ip daddr 127.0.0.0/8 meta l4proto { tcp, udp } th dport 53 counter drop`,
    `    ${parent} ip6 daddr ::1 meta l4proto { tcp, udp } th dport 53 counter drop`,
    `    ${PROTECTED} ip daddr 127.0.0.0/8 meta l4proto { tcp, udp } th dport 53 counter drop`,
    `    ${PROTECTED} ip6 daddr ::1 meta l4proto { tcp, udp } th dport 53 counter drop`,
    '  }',
    '  chain dns_redirect {',
    '    type nat hook output priority -100; policy accept;',
    // A tunnel with resolvers of its own gets its apps' DNS; the rules after these serve the primary.
    ...extra.flatMap((t) => dnsRedirect(`meta mark & ${hex(SLOT_MASK)} == ${hex(slotMark(t.slot))}`, t.dns)),
    ...dnsRedirect(parent, policy.dns),
    ...dnsRedirect(PROTECTED, policy.dns),
    '  }',
    // Final check after every reroute: the interface here is the one the packet really leaves by.
    '  chain egress {',
    '    type filter hook postrouting priority filter; policy accept;',
    `    ${PROTECTED} goto egress_protected`,
    // A packet of a protected connection is guarded whatever its mark. Packets without
    // conntrack (IPv6 neighbour discovery) never match a ct expression, so they pass.
    `    ${PROTECTED_CT} goto egress_protected`,
    '  }',
    '  chain egress_protected {',
    '    oifname "lo" accept',
    // What comes in through a tunnel for a forwarded source is delivered to it, not sent by it.
    ...(hasForwarded(apps) && allTuns.length ? [`    iifname { ${allTuns.join(', ')} } accept`] : []),
    ...egressByTunnel(tun, extra.map((t) => ({ iface: quote(t.iface), slot: t.slot })), onSlot, vmap),
    ...(apps.length ? [`    meta mark vmap { ${vmap('dropped')} }`] : []),
    '    counter name "drop_unknown" drop',
    '  }',
    ...apps.flatMap((a) => [
      `  chain tx_${a.id} {`, `    counter name "tx_${a.id}" accept`, '  }',
      `  chain dropped_${a.id} {`, `    counter name "drop_${a.id}" drop`, '  }',
    ]),
    ...hopGuardChain(policy.hopGuards ?? []),
    '  chain snat_tunnel {',
    '    type nat hook postrouting priority 100; policy accept;',
    ...allTuns.map((t) => `    ${PROTECTED} oifname ${t} masquerade`),
    '  }',
    // Replies carry the mark again so reverse-path checks use the tunnel's table.
    '  chain restore_mark {',
    '    type filter hook prerouting priority mangle; policy accept;',
    `    ${PROTECTED_CT} meta mark set ct mark`,
    '  }',
    '  chain ingress {',
    '    type filter hook input priority filter; policy accept;',
    // Replies of the connections an app made directly to an allowlisted address (unmarked: they never took the tunnel).
    ...allowReplies([...shared, ...apps.flatMap(ownSets), ...(apps.some((a) => a.allowLan) ? LAN_SETS : [])], `iifname != { ${['"lo"', ...allTuns].join(', ')} } ct state established,related ct mark & ${hex(MARK_MASK)} != ${hex(MARK_BASE)}`),
    // A forwarded source may still ask this host for an address (DHCP); nothing else of it reaches local services.
    ...(hasForwarded(apps) ? ['    meta l4proto udp th dport { 67, 547 } accept'] : []),
    `    iifname != { ${['"lo"', ...allTuns].join(', ')} } ${PROTECTED_CT} counter drop`,
    `    iifname != { ${['"lo"', ...allTuns].join(', ')} } ${parent} counter drop`,
    `    iifname != { ${['"lo"', ...allTuns].join(', ')} } socket mark & ${hex(MARK_MASK)} == ${hex(MARK_BASE)} counter drop`,
    '  }',
    '}',
  ];
  return lines.join('\n') + '\n';
}

/** Ingress rules that let the replies of allowlisted (direct) connections in; none without an allowlist. */
function allowReplies(sets: readonly DirectSet[], prefix: string): string[] {
  return sets.map((d) => `    ${prefix} ${d.family} saddr @${d.set} accept`);
}

/**
 * What may leave through each tunnel: an app's packets only through the
 * tunnel of its slot (counted), and the parent's catch-all only through the
 * primary. With the primary alone, any protected packet may leave by it.
 */
function egressByTunnel(
  primary: string | null, extra: ReadonlyArray<{ iface: string; slot: number }>,
  onSlot: (slot: number) => AppRule[], vmap: (prefix: string, only: AppRule[]) => string,
): string[] {
  const rules: string[] = [];
  const slots = [...(primary ? [{ iface: primary, slot: 0 }] : []), ...extra];
  for (const { iface, slot } of slots) {
    const riders = onSlot(slot);
    if (riders.length) rules.push(`    oifname ${iface} meta mark vmap { ${vmap('tx', riders)} }`);
    rules.push(extra.length === 0 ? `    oifname ${iface} accept` : `    oifname ${iface} meta mark & ${hex(SLOT_MASK)} == ${hex(slotMark(slot))} accept`);
  }
  return rules;
}

/**
 * Multi-hop: the inner tunnel's packets to its endpoint (its own UDP, sent by
 * the VPN client, in no app's group) leave only through the outer tunnel —
 * never by the physical interface, which would show the inner server to the
 * network outside the outer tunnel.
 */
function hopGuardChain(guards: readonly HopGuard[]): string[] {
  const rules = guards.flatMap((g) => g.endpoints.flatMap((e) => {
    const ep = parseLocal(e);
    if (!ep || parseIp(ep.addr) === undefined) return [];
    const family = ep.addr.includes(':') ? 'ip6' : 'ip';
    return [`    ${family} daddr ${address(ep.addr)} udp dport ${ep.port} oifname != ${quote(g.outer)} counter name "hop_drop" drop`];
  }));
  return ['  chain hop_guard {', '    type filter hook postrouting priority filter; policy accept;', ...rules, '  }'];
}

/** A tunnel's own resolvers, else the primary's (as its apps' DNS rules fall through to the primary's). */
function resolversOf(own: FirewallPolicy['dns'] | undefined, primary: FirewallPolicy['dns']): FirewallPolicy['dns'] {
  return own && (own.v4.length || own.v6.length) ? own : primary;
}

/** DNAT of DNS to the tunnel's resolvers for packets that `who` selects (the parent group, or the ksapp mark). */
function dnsRedirect(who: string, dns: FirewallPolicy['dns']): string[] {
  const rules: string[] = [];
  const l4 = 'meta l4proto { tcp, udp } th dport 53';
  const [v4] = dns.v4;
  const [v6] = dns.v6;
  if (v4) rules.push(`    ${who} ip daddr != 127.0.0.0/8 ${l4} dnat ip to ${address(v4)}`);
  if (v6) rules.push(`    ${who} ip6 daddr != ::1 ${l4} dnat ip6 to ${address(v6)}`);
  return rules;
}

/** The transaction that atomically swaps in a new table (create-if-missing, delete, recreate). */
export function replaceTransaction(policy: FirewallPolicy): string {
  return `table inet ${TABLE}\ndelete table inet ${TABLE}\n${rulesetFor(policy)}`;
}

/** The transaction that removes the table, whether or not it exists. */
export function removeTransaction(): string {
  return `table inet ${TABLE}\ndelete table inet ${TABLE}\n`;
}
