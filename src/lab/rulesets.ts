// The lab's nft tables (pure text, loaded with one `nft -f` per namespace).
import { SERVER_PORT, tunnelSpecs, type LabPlan } from './topology.js';

/**
 * The VPN server's nft table: tunnel traffic leaves its public side translated.
 * One tunnel masquerades; with a second, each tunnel is SNATed to its own exit,
 * because masquerade would pick whichever uplink address the kernel prefers.
 */
export function vpnNatRuleset(p: LabPlan): string {
  const out = `oifname "${p.links.vpnIsp}"`;
  const specs = tunnelSpecs(p);
  const rules = specs.length === 1
    ? specs.flatMap((t) => [`${out} ip saddr ${t.subnet4} masquerade`, `${out} ip6 saddr ${t.subnet6} masquerade`])
    : specs.flatMap((t) => [`${out} ip saddr ${t.subnet4} snat ip to ${t.public4}`, `${out} ip6 saddr ${t.subnet6} snat ip6 to ${t.public6}`]);
  return `table inet ksl_nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
${rules.map((r) => `    ${r}\n`).join('')}  }
}
`;
}

/**
 * The ISP router's nft tables: every DNS query crossing it goes to the internet
 * host (the ISP's resolver), whatever the client's resolv.conf names, and an
 * empty forward chain the faults fill.
 */
export function ispRuleset(p: LabPlan): string {
  return `table inet ksl_isp {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    meta nfproto ipv4 ip daddr != ${p.addr.internet4} udp dport 53 dnat ip to ${p.addr.internet4}
    meta nfproto ipv4 ip daddr != ${p.addr.internet4} tcp dport 53 dnat ip to ${p.addr.internet4}
    meta nfproto ipv6 ip6 daddr != ${p.addr.internet6} udp dport 53 dnat ip6 to ${p.addr.internet6}
    meta nfproto ipv6 ip6 daddr != ${p.addr.internet6} tcp dport 53 dnat ip6 to ${p.addr.internet6}
  }
  chain faults {
    type filter hook forward priority filter; policy accept;
  }
}
`;
}

/** nft text that drops the WireGuard server's port on the ISP path, both directions. */
export function blockPortRules(): string {
  return `add rule inet ksl_isp faults udp dport ${SERVER_PORT} drop
add rule inet ksl_isp faults udp sport ${SERVER_PORT} drop
`;
}
