// A container's network as the kernel shows it: each of its interfaces that
// is a veth into this namespace, with its addresses, and the interface its
// packets arrive on here (the bridge the veth's end belongs to, else the end).
import type { ForwardedRule } from '../firewall/policy.js';
import { runTool, tools } from '../tools.js';
import { badInput } from './errors.js';

interface IpLink {
  ifindex?: number;
  ifname?: string;
  master?: string;
  link_index?: number;
  link_netnsid?: number;
  addr_info?: Array<{ family?: string; local?: string; scope?: string }>;
}

/**
 * The sources of a container (pure): for each of its links with a peer in
 * this namespace, the peer's bridge (or the peer) and the link's global
 * addresses as single-host ranges.
 */
export function containerSources(inside: string, here: string): ForwardedRule[] {
  const hostLinks = JSON.parse(here) as IpLink[];
  const rules: ForwardedRule[] = [];
  for (const link of JSON.parse(inside) as IpLink[]) {
    if (link.ifname === 'lo' || link.link_index === undefined) continue;
    const peer = hostLinks.find((l) => l.ifindex === link.link_index);
    if (!peer?.ifname) continue;
    const global = (family: string): string[] => (link.addr_info ?? []).filter((a) => a.family === family && a.scope === 'global' && a.local).map((a) => a.local!);
    const v4 = global('inet').map((a) => `${a}/32`);
    const v6 = global('inet6').map((a) => `${a}/128`);
    if (!v4.length && !v6.length) continue;
    const iface = peer.master ?? peer.ifname;
    const same = rules.find((r) => r.iface === iface);
    if (same) rules.splice(rules.indexOf(same), 1, { iface, v4: [...same.v4, ...v4], v6: [...same.v6, ...v6] });
    else rules.push({ iface, v4, v6 });
  }
  return rules;
}

/** Reads the container's links from inside its namespace and their peers here; refuses one with no link into this namespace. */
export async function readContainerSources(pid: number, name: string): Promise<ForwardedRule[]> {
  const [inside, here] = await Promise.all([
    runTool(tools.nsenter, [`--net=/proc/${pid}/ns/net`, '--', tools.ip, '-j', 'addr', 'show']),
    runTool(tools.ip, ['-j', 'link', 'show']),
  ]);
  const rules = containerSources(inside, here);
  if (!rules.length) {
    throw badInput('CONTAINER_NOT_HERE', `container ${name} has no network link into this network namespace`,
      'run ksapp in the namespace its bridge lives in (the host\'s, for Podman and Docker); a container without a network needs no protection');
  }
  return rules;
}
