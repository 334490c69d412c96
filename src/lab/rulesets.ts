// The lab's nft tables (pure text, loaded with one `nft -f` per namespace).
import { SERVER_PORT, type LabPlan } from './topology.js';

/** The VPN server's nft table: masquerade tunnel traffic out of its public side. */
export function vpnNatRuleset(p: LabPlan): string {
  return `table inet ksl_nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${p.links.vpnIsp}" ip saddr 10.66.0.0/24 masquerade
    oifname "${p.links.vpnIsp}" ip6 saddr fd66::/64 masquerade
  }
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
