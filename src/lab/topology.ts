// The lab's addressing plan and the pure `ip`/`nft` text that builds it.
// Every address lives only inside the lab's own namespaces, so concurrent labs
// can share the plan; names carry the per-lab suffix because interfaces are
// created across namespaces and wireguard-go's sockets share one directory.

/** How the client routes: only the tunnel's own subnets, or everything (wg-quick style). */
export type LabMode = 'app-only' | 'default-route';

/** The WireGuard server's UDP port and the client's fixed one (so the server can initiate too). */
export const SERVER_PORT = 51820;
export const CLIENT_PORT = 51821;
/** The same two ports of the opt-in second tunnel. */
export const SERVER2_PORT = 51822;
export const CLIENT2_PORT = 51823;

/** One tunnel's interfaces and addresses (the shape of `lab.tunnel` and `lab.tunnel2`). */
export interface TunnelPlan { clientIface: string; serverIface: string; client4: string; client6: string; server4: string; server6: string }

/** Names and addresses of one lab. */
export interface LabPlan {
  suffix: string;
  mode: LabMode;
  ns: { client: string; isp: string; vpn: string; internet: string };
  /** veth ends, named by (where it is)(where it leads) + suffix. */
  links: { clientIsp: string; ispClient: string; ispVpn: string; vpnIsp: string; ispInet: string; inetIsp: string };
  tunnel: TunnelPlan;
  /** The opt-in second tunnel (its own server, keys, subnet and exit address); absent by default. */
  tunnel2?: TunnelPlan;
  addr: {
    client4: string; client6: string; vpnPublic4: string; vpnPublic6: string; internet4: string; internet6: string;
    ispClient4: string; ispClient6: string; ispVpn4: string; ispVpn6: string; ispInet4: string; ispInet6: string;
    /** The second tunnel's server endpoint and exit (a second address on the VPN's uplink); only with tunnel2. */
    vpnPublic4b?: string; vpnPublic6b?: string;
  };
}

/** How one tunnel is wired: its ends, ports, public endpoint/exit, subnets and file names. */
export interface TunnelSpec {
  /** '' for the first tunnel, '2' for the second: the suffix of its key, log and pid names. */
  id: '' | '2';
  ends: TunnelPlan;
  serverPort: number;
  clientPort: number;
  /** The server's public addresses: the client's endpoint, and the source its traffic leaves with after the VPN's NAT. */
  public4: string;
  public6: string;
  subnet4: string;
  subnet6: string;
  /** In default-route mode the first tunnel takes the default routes; a second tunnel only ever routes its subnet. */
  carriesDefault: boolean;
}

/** True for a valid lab suffix: six lowercase hex digits. */
export function isSuffix(s: string): boolean {
  return /^[0-9a-f]{6}$/.test(s);
}

/** Every WireGuard interface name a lab with this suffix may have (client and server of both tunnels). */
export function wgIfaceNames(suffix: string): string[] {
  return ['kc', 'ks', 'kd', 'kt'].map((prefix) => `${prefix}${suffix}`);
}

/** The plan of the lab with this suffix; `tunnels: 2` adds the second tunnel. */
export function planFor(suffix: string, mode: LabMode, tunnels: 1 | 2 = 1): LabPlan {
  const p = basePlan(suffix, mode);
  if (tunnels === 1) return p;
  return {
    ...p,
    tunnel2: {
      clientIface: `kd${suffix}`, serverIface: `kt${suffix}`,
      client4: '10.67.0.2', client6: 'fd67::2', server4: '10.67.0.1', server6: 'fd67::1',
    },
    addr: { ...p.addr, vpnPublic4b: '198.18.2.3', vpnPublic6b: 'fd00:2::3' },
  };
}

/** The lab's tunnels, first one first: how each is wired. */
export function tunnelSpecs(p: LabPlan): TunnelSpec[] {
  const first: TunnelSpec = {
    id: '', ends: p.tunnel, serverPort: SERVER_PORT, clientPort: CLIENT_PORT, public4: p.addr.vpnPublic4, public6: p.addr.vpnPublic6,
    subnet4: '10.66.0.0/24', subnet6: 'fd66::/64', carriesDefault: p.mode === 'default-route',
  };
  const { tunnel2, addr: { vpnPublic4b, vpnPublic6b } } = p;
  if (!tunnel2 || !vpnPublic4b || !vpnPublic6b) return [first];
  return [first, {
    id: '2', ends: tunnel2, serverPort: SERVER2_PORT, clientPort: CLIENT2_PORT, public4: vpnPublic4b, public6: vpnPublic6b,
    subnet4: '10.67.0.0/24', subnet6: 'fd67::/64', carriesDefault: false,
  }];
}

function basePlan(suffix: string, mode: LabMode): LabPlan {
  const n = (role: string) => `ksl-${suffix}-${role}`;
  return {
    suffix,
    mode,
    ns: { client: n('client'), isp: n('isp'), vpn: n('vpn'), internet: n('inet') },
    links: {
      clientIsp: `ci${suffix}`, ispClient: `ic${suffix}`, ispVpn: `iv${suffix}`,
      vpnIsp: `vi${suffix}`, ispInet: `in${suffix}`, inetIsp: `ni${suffix}`,
    },
    tunnel: {
      clientIface: `kc${suffix}`, serverIface: `ks${suffix}`,
      client4: '10.66.0.2', client6: 'fd66::2', server4: '10.66.0.1', server6: 'fd66::1',
    },
    addr: {
      client4: '198.18.1.2', client6: 'fd00:1::2', ispClient4: '198.18.1.1', ispClient6: 'fd00:1::1',
      vpnPublic4: '198.18.2.2', vpnPublic6: 'fd00:2::2', ispVpn4: '198.18.2.1', ispVpn6: 'fd00:2::1',
      internet4: '198.19.3.2', internet6: 'fd00:3::2', ispInet4: '198.19.3.1', ispInet6: 'fd00:3::1',
    },
  };
}

/** Sysctls set in every namespace before any link exists (no DAD: IPv6 works at once). */
export const BASE_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv6.conf.all.accept_dad': '0',
  'net.ipv6.conf.default.accept_dad': '0',
};

/** Sysctls of the two routers. */
export const ROUTER_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_forward': '1',
  'net.ipv6.conf.all.forwarding': '1',
};

/** `ip -batch` lines per namespace that create the veths, addresses and base routes. */
export function linkCommands(p: LabPlan): Record<'client' | 'isp' | 'vpn' | 'internet', string[]> {
  const { links: l, addr: a, ns } = p;
  const up = (dev: string, v4: string, v6: string) => [
    `addr add ${v4}/24 dev ${dev}`, `addr add ${v6}/64 dev ${dev} nodad`, `link set ${dev} up`,
  ];
  return {
    // veths are created from the isp side, each peer born directly in its namespace.
    isp: [
      `link add ${l.ispClient} type veth peer name ${l.clientIsp} netns ${ns.client}`,
      `link add ${l.ispVpn} type veth peer name ${l.vpnIsp} netns ${ns.vpn}`,
      `link add ${l.ispInet} type veth peer name ${l.inetIsp} netns ${ns.internet}`,
      ...up(l.ispClient, a.ispClient4, a.ispClient6),
      ...up(l.ispVpn, a.ispVpn4, a.ispVpn6),
      ...up(l.ispInet, a.ispInet4, a.ispInet6),
    ],
    client: [...up(l.clientIsp, a.client4, a.client6)],
    // The second tunnel's exit shares the uplink's subnets, so the ISP routes its replies back without a route of its own.
    vpn: [
      ...up(l.vpnIsp, a.vpnPublic4, a.vpnPublic6),
      `route add default via ${a.ispVpn4}`, `route add ::/0 via ${a.ispVpn6}`,
      ...(a.vpnPublic4b && a.vpnPublic6b ? [`addr add ${a.vpnPublic4b}/24 dev ${l.vpnIsp}`, `addr add ${a.vpnPublic6b}/64 dev ${l.vpnIsp} nodad`] : []),
    ],
    internet: [
      ...up(l.inetIsp, a.internet4, a.internet6),
      `route add default via ${a.ispInet4}`, `route add ::/0 via ${a.ispInet6}`,
    ],
  };
}

/**
 * `ip -batch` lines (client namespace) for the routes outside the tunnel: the
 * default route via the ISP, or (wg-quick style) only a host route to the
 * endpoint, which must exist before the tunnel's first handshake.
 */
export function clientUnderlayRoutes(p: LabPlan): string[] {
  const { addr: a, links: l } = p;
  if (p.mode === 'app-only') {
    return [`route replace default via ${a.ispClient4} dev ${l.clientIsp}`, `route replace ::/0 via ${a.ispClient6} dev ${l.clientIsp}`];
  }
  return tunnelSpecs(p).flatMap((t) => [
    `route replace ${t.public4}/32 via ${a.ispClient4} dev ${l.clientIsp}`,
    `route replace ${t.public6}/128 via ${a.ispClient6} dev ${l.clientIsp}`,
  ]);
}

/** `ip -batch` lines for the routes through a tunnel: only its own subnets (from its addresses) or, for a tunnel that carries the default, the defaults. */
export function clientTunnelRoutes(t: TunnelSpec): string[] {
  if (!t.carriesDefault) return [];
  return [`route replace default dev ${t.ends.clientIface}`, `route replace ::/0 dev ${t.ends.clientIface}`];
}

/** `ip -batch` lines that (re)give a tunnel interface its addresses and bring it up. */
export function tunnelAddressCommands(dev: string, v4: string, v6: string): string[] {
  return [`addr replace ${v4}/24 dev ${dev}`, `addr replace ${v6}/64 dev ${dev} nodad`, `link set ${dev} up`];
}
