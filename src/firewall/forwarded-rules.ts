// Forwarded sources (containers, VMs, LAN hosts): their chains of table inet ksapp.
import { address, cidr, hex, mac, PROTECTED, quote } from './nft-text.js';
import { markFor, type AppRule, type FirewallPolicy, type ForwardedRule } from './policy.js';

export const hasForwarded = (apps: readonly AppRule[]): boolean => apps.some((a) => (a.forwarded?.length ?? 0) > 0);

/** The matches that select one forwarded source's packets as they come in (pure): by address per family, by MAC, or the whole interface. */
function fromSource(f: ForwardedRule): string[] {
  const iif = `iifname ${quote(f.iface)}`;
  const list = (items: readonly string[], check: (v: string) => string): string => `{ ${items.map(check).join(', ')} }`;
  const matches = [
    ...(f.v4.length ? [`${iif} ip saddr ${list(f.v4, cidr)}`] : []),
    ...(f.v6.length ? [`${iif} ip6 saddr ${list(f.v6, cidr)}`] : []),
    ...(f.macs?.length ? [`${iif} ether saddr ${list(f.macs, mac)}`] : []),
    ...(f.v6All ? [`${iif} meta nfproto ipv6`] : []),
  ];
  return matches.length ? matches : [iif];
}

/**
 * The classification of every forwarded source's packets (pure): one map
 * lookup per key kind (interface with IPv4 source, with IPv6 source, with MAC,
 * with "any IPv6", interface alone), so the cost per packet does not grow with
 * the number of sources. The more specific kinds come first.
 */
function classifyForwarded(apps: readonly AppRule[]): string[] {
  const maps: Record<'v4' | 'v6' | 'mac' | 'v6All' | 'iface', string[]> = { v4: [], v6: [], mac: [], v6All: [], iface: [] };
  for (const a of apps) {
    for (const f of a.forwarded ?? []) {
      const to = `goto fwd_${a.id}`;
      const iif = quote(f.iface);
      maps.v4.push(...f.v4.map((r) => `${iif} . ${cidr(r)} : ${to}`));
      maps.v6.push(...f.v6.map((r) => `${iif} . ${cidr(r)} : ${to}`));
      maps.mac.push(...(f.macs ?? []).map((m) => `${iif} . ${mac(m)} : ${to}`));
      if (f.v6All) maps.v6All.push(`${iif} . ipv6 : ${to}`);
      if (!f.v4.length && !f.v6.length && !f.macs?.length) maps.iface.push(`${iif} : ${to}`);
    }
  }
  const keys = { v4: 'iifname . ip saddr', v6: 'iifname . ip6 saddr', mac: 'iifname . ether saddr', v6All: 'iifname . meta nfproto', iface: 'iifname' } as const;
  return (Object.keys(keys) as Array<keyof typeof keys>).filter((k) => maps[k].length).map((k) => `    ${keys[k]} vmap { ${maps[k].join(', ')} }`);
}

/** The matches that select packets headed to one forwarded source (its addresses; the whole interface when it has none). */
function toSource(f: ForwardedRule): string[] {
  const oif = `oifname ${quote(f.iface)}`;
  if (f.macs?.length && !f.v4.length && !f.v6.length) return [];
  return [
    ...(f.v4.length ? [`${oif} ip daddr { ${f.v4.map(cidr).join(', ')} }`] : []),
    ...(f.v6.length ? [`${oif} ip6 daddr { ${f.v6.map(cidr).join(', ')} }`] : []),
    ...(!f.v4.length && !f.v6.length ? [oif] : []),
    ...(f.v6All ? [`${oif} meta nfproto ipv6`] : []),
  ];
}


/**
 * Forwarded sources (containers, VMs, LAN hosts): their packets are marked as
 * they come in, before routing, so policy routing sends them into their app's
 * tunnel and the egress check guards them like an app's; their DNS goes to the
 * tunnel's resolver before any local forwarder (Podman's aardvark, a router's
 * dnsmasq) can see it; new connections to them come only through a tunnel; and
 * replies to them, which arrive marked from the tunnel, are routed to them by
 * the main table again once their NAT is undone.
 */
export function forwardedChains(apps: readonly AppRule[], tuns: readonly string[], dnsOf: (slot: number) => FirewallPolicy['dns']): string[] {
  const fwd = apps.filter((a) => (a.forwarded?.length ?? 0) > 0);
  if (!fwd.length) return [];
  const notTunnel = tuns.length ? ` iifname != { ${tuns.join(', ')} }` : '';
  const dnat = (a: AppRule): string[] => {
    const dns = dnsOf(a.slot ?? 0);
    return a.forwarded!.flatMap((f) => fromSource(f).flatMap((m) => [
      ...(dns.v4[0] ? [`    ${m} meta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 dnat ip to ${address(dns.v4[0])}`] : []),
      ...(dns.v6[0] ? [`    ${m} meta nfproto ipv6 meta l4proto { tcp, udp } th dport 53 dnat ip6 to ${address(dns.v6[0])}`] : []),
    ]));
  };
  return [
    '  chain classify_forwarded {',
    '    type filter hook prerouting priority -151; policy accept;',
    ...classifyForwarded(fwd),
    '  }',
    ...fwd.flatMap((a) => [
      `  chain fwd_${a.id} {`,
      ...(a.blocked ? [`    counter name "drop_${a.id}" drop`] : []),
      `    meta mark set ${hex(markFor(a.id, a.slot))} ct mark set meta mark accept`,
      '  }',
    ]),
    '  chain dns_forwarded {',
    '    type nat hook prerouting priority -101; policy accept;',
    ...fwd.flatMap(dnat),
    '  }',
    // After the reply's NAT is undone (-100): a reply from a tunnel to an address that is not this host's goes by the main table.
    '  chain unmark_forwarded {',
    '    type filter hook prerouting priority -99; policy accept;',
    ...(tuns.length ? [`    iifname { ${tuns.join(', ')} } ${PROTECTED} fib daddr type != local meta mark set 0x00000000`] : []),
    '  }',
    '  chain inbound_forwarded {',
    '    type filter hook forward priority filter; policy accept;',
    ...fwd.flatMap((a) => a.forwarded!.flatMap((f) => toSource(f).map((m) => `    ${m} ct state new${notTunnel} counter name "drop_${a.id}" drop`))),
    '  }',
  ];
}
