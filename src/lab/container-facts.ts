// A container the lab's runtimes (podman.ts, docker.ts) start: its name and
// network as asked for, then what the kernel says about it once it runs: its
// init process, its cgroup v2 directory and, unless it shares the lab namespace,
// eth0's addresses, its default gateway and its veth peer in the lab namespace.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findCgroup2Mount } from '../../cgroups/mountinfo.js';
import { parseProcCgroup } from '../../cgroups/parse.js';
import { pidRecordOf, run, type ContainerEnv, type Runtime } from './container-env.js';
import { NETNS_DIR, nsenterArgs } from './netns.js';
import { recordPid } from './state.js';

/** How a container is networked: the env's bridge network, the lab namespace itself, or another container's namespace. */
export type ContainerNetwork = 'bridge' | 'host' | `container:${string}`;

/** A container to start. */
export interface ContainerSpec {
  /** Short name; the container (and with Docker its image) is called `ksl-<suffix>-<name>`. */
  name: string;
  /** An absolute root filesystem directory (see busyboxRootfs); Docker imports it as the container's image. */
  rootfs: string;
  cmd: readonly string[];
  network?: ContainerNetwork;
  /** Ports published on the lab namespace's addresses, as `--publish` takes them (`8080:80`). */
  publish?: readonly string[];
}

/** A started container, with what the kernel says about it. */
export interface LabContainer {
  name: string;
  id: string;
  /** Its init process, in the machine's pid namespace. */
  pid: number;
  /** Its cgroup v2 directory (cgroup.freeze, cgroup.events, cgroup.procs). */
  cgroupPath: string;
  /** True when it runs in the lab namespace itself (`host`). */
  inLabNetns: boolean;
  /** eth0's addresses; none with `host`. */
  addresses: { v4?: string; v6?: string };
  gatewayV4?: string;
  /** The lab namespace's end of its eth0, and the bridge that end belongs to. */
  hostVeth?: string;
  bridge?: string;
}

/** The container's full name and its `--network` value; refuses a name that is not lowercase letters, digits and dashes. */
export function containerNaming(rt: Runtime, env: Pick<ContainerEnv, 'suffix' | 'network'>, spec: ContainerSpec): { name: string; network: string } {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(spec.name)) throw new rt.ErrorClass(`bad container name "${spec.name}"`, 'use lowercase letters, digits and dashes');
  const net = spec.network ?? 'bridge';
  const network = net === 'bridge' ? env.network : net.startsWith('container:') ? `container:ksl-${env.suffix}-${net.slice(10)}` : net;
  return { name: `ksl-${env.suffix}-${spec.name}`, network };
}

/** From a started container's inspected `{{.Id}} {{.State.Pid}}`: records its pid in the state directory and reports what the kernel says about it. */
export async function containerStarted(rt: Runtime, env: Pick<ContainerEnv, 'netns' | 'stateDir'>, name: string, inspected: string): Promise<LabContainer> {
  const [id = '', pidText = ''] = inspected.trim().split(' ');
  const pid = Number(pidText);
  if (!(pid > 0)) throw new rt.ErrorClass(`container ${name} is not running (pid "${pidText}")`, `see \`${rt.name} logs ${name}\`: did its command exit at once?`);
  recordPid(env.stateDir, pidRecordOf(rt, name), pid); // the lab's teardown ends it even when stop() never runs
  const inLabNetns = statSync(`/proc/${pid}/ns/net`).ino === statSync(`${NETNS_DIR}/${env.netns}`).ino;
  return { name, id, pid, cgroupPath: containerCgroup(rt, pid), inLabNetns, ...(inLabNetns ? { addresses: {} } : await netFacts(rt, env.netns, pid)) };
}

/** The container's cgroup v2 directory, from its /proc/PID/cgroup and the cgroup2 mount point. */
function containerCgroup(rt: Runtime, pid: number): string {
  const mount = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  const group = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  if (mount === undefined || group === undefined) throw new rt.ErrorClass(`no cgroup v2 group for container process ${pid}`, 'is cgroup2 mounted (hybrid: /sys/fs/cgroup/unified)?');
  return join(mount, group);
}

async function netFacts(rt: Runtime, labNetns: string, pid: number): Promise<Pick<LabContainer, 'addresses' | 'gatewayV4' | 'hostVeth' | 'bridge'>> {
  const inContainer = (argv: string[]) => run(rt, ['nsenter', `--net=/proc/${pid}/ns/net`, '--', ...argv], 5000);
  const eth0 = parseIpAddrJson(await inContainer(['ip', '-j', 'addr', 'show', 'dev', 'eth0']));
  const gatewayV4 = parseDefaultGateway(await inContainer(['ip', '-j', '-4', 'route', 'show', 'default']));
  const peer = eth0.linkIndex === undefined ? undefined : findLink(await run(rt, [...nsenterArgs(labNetns), 'ip', '-j', 'link', 'show'], 5000), eth0.linkIndex);
  return {
    addresses: { ...(eth0.v4 ? { v4: eth0.v4 } : {}), ...(eth0.v6 ? { v6: eth0.v6 } : {}) },
    ...(gatewayV4 ? { gatewayV4 } : {}), ...(peer ? { hostVeth: peer.ifname } : {}), ...(peer?.master ? { bridge: peer.master } : {}),
  };
}

interface IpLink { ifindex?: number; ifname?: string; master?: string; link_index?: number; addr_info?: Array<{ family?: string; local?: string; scope?: string }> }

/** From `ip -j addr show dev X`: its first global IPv4 and IPv6 address, and its peer's ifindex (a veth's iflink). */
export function parseIpAddrJson(text: string): { v4?: string; v6?: string; linkIndex?: number } {
  const [link] = JSON.parse(text) as IpLink[];
  const global = (family: string) => link?.addr_info?.find((a) => a.family === family && a.scope === 'global')?.local;
  const v4 = global('inet');
  const v6 = global('inet6');
  return { ...(v4 ? { v4 } : {}), ...(v6 ? { v6 } : {}), ...(link?.link_index === undefined ? {} : { linkIndex: link.link_index }) };
}

/** From `ip -j route show default`: the first default route's gateway. */
export function parseDefaultGateway(text: string): string | undefined {
  return (JSON.parse(text) as Array<{ gateway?: string }>).find((r) => r.gateway)?.gateway;
}

/** From `ip -j link show`: the link with this ifindex, its name and bridge. */
export function findLink(text: string, ifindex: number): { ifname: string; master?: string } | undefined {
  const link = (JSON.parse(text) as IpLink[]).find((l) => l.ifindex === ifindex);
  return link?.ifname ? { ifname: link.ifname, ...(link.master ? { master: link.master } : {}) } : undefined;
}
