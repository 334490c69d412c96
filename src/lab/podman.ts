// A private rootful Podman whose containers' network lives inside one lab
// namespace (issue 16: `ksapp protect --container`). Every podman call runs
// under `nsenter --net` into that namespace, so netavark's bridge, veths,
// iptables-nft tables and forwarding sysctls land there, never in the
// machine's. A "holder" process keeps a private mount namespace in which
// the paths podman hard-codes for rootful use (/run/containers/networks:
// netavark and aardvark-dns state; /run/netns: container namespaces; /run/runc:
// runc's state) and /etc/resolv.conf are bind-mounted from the env's own directory.
import { existsSync, readFileSync, readlinkSync, readdirSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCgroup2Mount, parseMountinfo } from '../../cgroups/mountinfo.js';
import { parseProcCgroup } from '../../cgroups/parse.js';
import { removeTree } from '../../cgroups/tree.js';
import { KsappError } from '../errors.js';
import { runFailed, startProgram } from '../spawn.js';
import { ToolError } from '../tools.js';
import { logTail } from './errors.js';
import { NETNS_DIR, nsenterArgs, spawnIn } from './netns.js';
import { isRunning, ownerState, parsePidLines, recordPid, startTimeOf, type ProcId } from './state.js';

/** A failure of the lab's Podman environment (a runtime fault, exit status 1). */
export class PodmanLabError extends KsappError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { code: 'LAB_PODMAN_FAILED', hint, cause, exitCode: 1 });
  }
}

/** The env's bridge network: never podman's default 10.88.0.0/16, so a container on the machine's own podman cannot be mistaken for ours. */
export const PODMAN_SUBNET4 = '10.89.1.0/24';
export const PODMAN_SUBNET6 = 'fd89:1::/64';
/** Where podman looks for netavark and aardvark-dns (containers.conf `helper_binaries_dir`). */
const HELPER_DIRS = ['/usr/local/libexec/podman', '/usr/local/lib/podman', '/usr/libexec/podman', '/usr/lib/podman'];
/** A podman call that takes longer than this is stuck (a frozen container, a lock). */
const CALL_TIMEOUT_MS = 30_000;

/** Options of startPodman. */
export interface PodmanOptions {
  /** The lab namespace the containers' network lives in (lab.ns.client). */
  netns: string;
  /** The lab suffix; every name (network, bridge, containers, cgroup parent) carries it. */
  suffix: string;
  /** A state directory; pass lab.dir, so the lab's own teardown also ends the containers. */
  dir: string;
  /** The resolvers aardvark-dns forwards to and `--network host` containers use; keep them in the lab (lab.addr.internet4). */
  dns: readonly string[];
}

/** A running private Podman environment. */
export interface PodmanEnv {
  readonly netns: string;
  readonly suffix: string;
  /** Its own directory (under stateDir): storage, run root, tmp, network configs, netavark state. */
  readonly dir: string;
  /** The state directory it was started with, whose pids file records the processes it started. */
  readonly stateDir: string;
  /** The bridge network 'bridge' containers join, and its kernel bridge in `netns`. */
  readonly network: string;
  readonly bridge: string;
  /** The cgroup parent of every container (relative to each hierarchy's root). */
  readonly cgroupParent: string;
  /** The process holding the private mount namespace, and that namespace (`mnt:[INODE]`). */
  readonly holder: ProcId;
  readonly mountNs: string;
  /** Runs podman with this env's configuration and returns its stdout. */
  podman(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Removes every container and the network, ends every process it started, removes its cgroups and files. Idempotent. */
  stop(): Promise<void>;
}

/** How a container is networked: the env's bridge network, the lab namespace itself, or another container's namespace. */
export type ContainerNetwork = 'bridge' | 'host' | `container:${string}`;

/** A container to start. */
export interface ContainerSpec {
  /** Short name; the container is called `ksl-<suffix>-<name>`. */
  name: string;
  /** An absolute root filesystem directory (see busyboxRootfs). */
  rootfs: string;
  cmd: readonly string[];
  network?: ContainerNetwork;
}

/** A started container, with what the kernel says about it. */
export interface PodmanContainer {
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

/** Null when podman can run containers in a lab here, else why not (for a test's skip message). */
export async function podmanAvailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (rootful podman)';
  // tool → Debian package; netavark and aardvark-dns live in podman's helper directories, not on PATH.
  const onPathTools = [['podman', 'podman'], ['conmon', 'conmon'], ['runc', 'runc'], ['iptables', 'iptables'], ['nsenter', 'util-linux'], ['unshare', 'util-linux']];
  const helpers = [['netavark', 'netavark'], ['aardvark-dns', 'aardvark-dns']];
  const missing = [
    ...onPathTools.filter(([tool]) => !onPath(tool!)),
    ...helpers.filter(([tool]) => !HELPER_DIRS.some((d) => existsSync(join(d, tool!)))),
  ];
  if (missing.length > 0) return `${missing.map(([t]) => t).join(', ')} not installed (apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')})`;
  if (!existsSync('/bin/busybox') || !isStaticElf(readFileSync('/bin/busybox'))) return 'no static /bin/busybox for the container root filesystem (apt-get install busybox-static)';
  if (findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8')) === undefined) return 'no cgroup v2 mount';
  const version = await run(['podman', '--version'], 5000).catch(() => '');
  const major = Number(/version (\d+)\./.exec(version)?.[1]);
  return major >= 4 ? null : `podman ${version.trim() || '(unknown version)'} is older than 4 (no netavark backend)`;
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).some((d) => d !== '' && existsSync(join(d, tool)));
}

/** True for an ELF file without a program interpreter (PT_INTERP): it runs in a root filesystem that has no libc. */
export function isStaticElf(bytes: Buffer): boolean {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) return false; // ELF64, little-endian
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const size = bytes.readUInt16LE(0x36);
  const count = bytes.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) {
    const at = phoff + i * size;
    if (at + 4 > bytes.length) return false;
    if (bytes.readUInt32LE(at) === 3) return false; // PT_INTERP
  }
  return true;
}

/** Builds a minimal root filesystem from the static /bin/busybox (every applet a symlink in /bin) and returns `dir`. */
export async function busyboxRootfs(dir: string, busybox = '/bin/busybox'): Promise<string> {
  if (!isAbsolute(dir)) throw new PodmanLabError(`the root filesystem directory must be absolute, got "${dir}"`, 'pass an absolute path (podman --rootfs needs one)');
  if (!isStaticElf(await readFile(busybox))) throw new PodmanLabError(`${busybox} is not a static executable`, 'install busybox-static (the dynamic busybox needs a libc in the container)');
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'root', 'run', 'var']) await mkdir(join(dir, d), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(busybox, join(dir, 'bin/busybox'));
  const applets = (await run([busybox, '--list'], 5000)).split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
  await Promise.all(applets.map((a) => symlink('busybox', join(dir, 'bin', a)).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; })));
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  return dir;
}

/** containers.conf of an env (pure). */
export function containersConf(o: { netconf: string; tmp: string }): string {
  return [
    '[containers]',
    // runc sets these in the container; raising a hard limit needs CAP_SYS_RESOURCE, which root may lack (it does on the
    // test machine), and runc inherits lower limits than ours (conmon got nproc 32768 there): ask for modest ones.
    'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
    '[engine]',
    'runtime = "runc"', // crun refuses hybrid cgroups ("cgroups in hybrid mode not supported")
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    'lock_type = "file"', // the default shm locks (/dev/shm/libpod_lock) are shared by every podman on the machine
    `tmp_dir = "${o.tmp}"`,
    '[network]',
    'network_backend = "netavark"',
    `network_config_dir = "${o.netconf}"`,
    // The machine's default network ("podman", 10.88.0.0/16) is never used here; moved off 10.88 all the same, in case a container asks for it.
    'default_subnet = "10.89.0.0/24"',
    '',
  ].join('\n');
}

// The holder: a private mount namespace (in the lab namespace, so the lab's teardown also ends it) with podman's
// fixed rootful paths replaced by the env's own; it prints "ready" once they are, then sleeps until killed.
const HOLDER_SCRIPT = 'set -e; mount --bind "$1" /run/containers/networks; mount --bind "$2" /run/netns; mount --bind "$3" /run/runc; '
  + 'mount --bind "$4" /etc/resolv.conf; echo ready; exec sleep infinity';

/** Starts a private Podman environment whose containers' network lives in `o.netns`, with its bridge network created. */
export async function startPodman(o: PodmanOptions): Promise<PodmanEnv> {
  const dir = join(o.dir, 'podman');
  const paths = Object.fromEntries(['root', 'runroot', 'tmp', 'netconf', 'netrun', 'netns', 'runc'].map((d) => [d, join(dir, d)])) as Record<
    'root' | 'runroot' | 'tmp' | 'netconf' | 'netrun' | 'netns' | 'runc', string>;
  await Promise.all(Object.values(paths).map((p) => mkdir(p, { recursive: true })));
  // Bind targets must exist in the machine's /run; podman and runc create the same empty directories on their first rootful run.
  await Promise.all(['/run/containers/networks', '/run/runc'].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  const network = `ksl-${o.suffix}`;
  const conf = join(dir, 'containers.conf');
  const storageConf = join(dir, 'storage.conf');
  await writeFile(conf, containersConf({ netconf: paths.netconf, tmp: paths.tmp }));
  await writeFile(storageConf, `[storage]\ndriver = "vfs"\ngraphroot = "${paths.root}"\nrunroot = "${paths.runroot}"\n`);
  await writeFile(join(dir, 'resolv.conf'), o.dns.map((a) => `nameserver ${a}\n`).join(''));
  await removeLeftoverGroups();
  const holder = await startHolder(o.netns, dir, [paths.netrun, paths.netns, paths.runc, join(dir, 'resolv.conf')]);
  recordPid(o.dir, `podman-holder-${o.suffix}`, holder.pid);
  const mountNs = readlinkSync(`/proc/${holder.pid}/ns/mnt`);
  const env = podmanEnv(o, dir, network, { ...holder, mountNs }, { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storageConf });
  try {
    await env.podman(['network', 'create', '--subnet', PODMAN_SUBNET4, '--ipv6', '--subnet', PODMAN_SUBNET6, network]);
    await nameBridge(join(paths.netconf, `${network}.json`), env.bridge);
  } catch (error) {
    await env.stop().catch(() => undefined);
    throw error;
  }
  return env;
}

async function startHolder(netns: string, dir: string, binds: readonly string[]): Promise<ProcId> {
  const log = join(dir, 'holder.log');
  const proc = spawnIn(netns, ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', HOLDER_SCRIPT, 'ksapp-podman-holder', ...binds], log, 'pipe');
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    proc.stdout?.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) { clearTimeout(timer); resolve(true); } });
    void proc.then(() => { clearTimeout(timer); resolve(false); });
  });
  const start = proc.pid === undefined ? undefined : startTimeOf(proc.pid);
  if (!ready || proc.pid === undefined || start === undefined) {
    proc.kill('SIGKILL');
    throw new PodmanLabError(`the podman mount namespace could not be set up in ${netns}: ${logTail(log) || 'no output'}`, 'needs root with CAP_SYS_ADMIN and util-linux unshare');
  }
  return { pid: proc.pid, start };
}

// podman 4.3 has no --interface-name: netavark picks "podman1". Renaming it in the config podman just wrote makes the
// bridge carry the lab suffix, so anything left behind anywhere is attributable.
async function nameBridge(file: string, bridge: string): Promise<void> {
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, JSON.stringify({ ...config, network_interface: bridge }, null, 5));
}

function podmanEnv(o: PodmanOptions, dir: string, network: string, h: ProcId & { mountNs: string }, env: Record<string, string | undefined>): PodmanEnv {
  const holder: ProcId = { pid: h.pid, start: h.start };
  const nsArgs = () => [`--mount=/proc/${holder.pid}/ns/mnt`, `--net=${NETNS_DIR}/${o.netns}`, '--'];
  let stopped: Promise<void> | undefined;
  const self: PodmanEnv = {
    netns: o.netns, suffix: o.suffix, dir, stateDir: o.dir, network, bridge: `kp${o.suffix}`, cgroupParent: `/ksl-${o.suffix}-podman`, holder, mountNs: h.mountNs,
    async podman(args, timeoutMs = CALL_TIMEOUT_MS) {
      if (!isRunning(holder)) throw new PodmanLabError(`the podman environment of lab ${o.suffix} is gone (its holder ${holder.pid} ended)`, 'start a new one with startPodman()');
      return run(['nsenter', ...nsArgs(), 'podman', ...args], timeoutMs, env);
    },
    stop() {
      stopped ??= stopEnv(self);
      return stopped;
    },
  };
  return self;
}

/** Starts a container in the env and reports its id, pid, cgroup and network as the kernel sees them. */
export async function runContainer(env: PodmanEnv, spec: ContainerSpec): Promise<PodmanContainer> {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(spec.name)) throw new PodmanLabError(`bad container name "${spec.name}"`, 'use lowercase letters, digits and dashes');
  const name = `ksl-${env.suffix}-${spec.name}`;
  const net = spec.network ?? 'bridge';
  const network = net === 'bridge' ? env.network : net.startsWith('container:') ? `container:ksl-${env.suffix}-${net.slice(10)}` : net;
  await env.podman(['run', '-d', '--name', name, '--runtime', 'runc', '--cgroup-parent', env.cgroupParent, '--network', network, '--rootfs', spec.rootfs, ...spec.cmd]);
  const [id = '', pidText = ''] = (await env.podman(['inspect', '--format', '{{.Id}} {{.State.Pid}}', name])).trim().split(' ');
  const pid = Number(pidText);
  if (!(pid > 0)) throw new PodmanLabError(`container ${name} is not running (pid "${pidText}")`, `see \`podman logs ${name}\`: did its command exit at once?`);
  recordPid(env.stateDir, `podman-${name}`, pid); // the lab's teardown ends it even when stop() never runs
  const inLabNetns = statSync(`/proc/${pid}/ns/net`).ino === statSync(`${NETNS_DIR}/${env.netns}`).ino;
  return { name, id, pid, cgroupPath: containerCgroup(pid), inLabNetns, ...(inLabNetns ? { addresses: {} } : await netFacts(env.netns, pid)) };
}

/** The container's cgroup v2 directory, from its /proc/PID/cgroup and the cgroup2 mount point. */
function containerCgroup(pid: number): string {
  const mount = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  const group = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  if (mount === undefined || group === undefined) throw new PodmanLabError(`no cgroup v2 group for container process ${pid}`, 'is cgroup2 mounted (hybrid: /sys/fs/cgroup/unified)?');
  return join(mount, group);
}

async function netFacts(labNetns: string, pid: number): Promise<Pick<PodmanContainer, 'addresses' | 'gatewayV4' | 'hostVeth' | 'bridge'>> {
  const inContainer = (argv: string[]) => run(['nsenter', `--net=/proc/${pid}/ns/net`, '--', ...argv], 5000);
  const eth0 = parseIpAddrJson(await inContainer(['ip', '-j', 'addr', 'show', 'dev', 'eth0']));
  const gatewayV4 = parseDefaultGateway(await inContainer(['ip', '-j', '-4', 'route', 'show', 'default']));
  const peer = eth0.linkIndex === undefined ? undefined : findLink(await run([...nsenterArgs(labNetns), 'ip', '-j', 'link', 'show'], 5000), eth0.linkIndex);
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

/** Removes a container at once (no stop grace: busybox as pid 1 ignores SIGTERM). */
export async function removeContainer(env: PodmanEnv, name: string): Promise<void> {
  await env.podman(['rm', '--force', '--time', '0', name]);
}

async function stopEnv(env: PodmanEnv): Promise<void> {
  const failures: unknown[] = [];
  const attempt = async (step: () => Promise<unknown>) => { await step().catch((e: unknown) => { failures.push(e); }); };
  if (isRunning(env.holder)) {
    await attempt(() => thawAll(env.cgroupParent)); // podman exec and runc hang on a frozen container
    // A container others share a namespace with is refused until they are gone: the first pass removes those, the second the rest.
    await env.podman(['rm', '--all', '--force', '--time', '0']).catch(() => undefined);
    await attempt(() => env.podman(['rm', '--all', '--force', '--time', '0']));
    await attempt(() => env.podman(['network', 'rm', '--force', env.network]));
  }
  await killAll([...envPids(env), ...containerPids(env.stateDir, env.suffix)]);
  for (const hierarchy of cgroupMounts()) await attempt(() => removeTree(join(hierarchy, env.cgroupParent)));
  await attempt(() => rm(env.dir, { recursive: true, force: true }));
  if (failures.length > 0) throw new PodmanLabError(`the podman environment of lab ${env.suffix} was not removed cleanly`, "see the cause; the lab's destroy() removes the rest", failures[0]);
}

/** Thaws every container group, so nothing waits on a frozen process while being removed. */
async function thawAll(parent: string): Promise<void> {
  const mount = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (mount === undefined || !existsSync(join(mount, parent))) return;
  for (const child of readdirSync(join(mount, parent))) {
    if (child.startsWith('libpod-')) await writeFile(join(mount, parent, child, 'cgroup.freeze'), '0').catch(() => undefined);
  }
}

/**
 * The processes the env started outside its containers (holder, conmon, aardvark-dns, podman's exit commands):
 * in both its mount namespace and the lab namespace. Both must match, so a namespace id reused after the env's
 * namespace died can never select a stranger; once the lab namespace is gone, the lab's teardown has ended them.
 */
function envPids(env: PodmanEnv): number[] {
  let net: number;
  try {
    net = statSync(`${NETNS_DIR}/${env.netns}`).ino;
  } catch {
    return [];
  }
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      return pid !== process.pid && readlinkSync(`/proc/${pid}/ns/mnt`) === env.mountNs && statSync(`/proc/${pid}/ns/net`).ino === net;
    } catch {
      return false; // ended meanwhile
    }
  });
}

/** The containers' init processes recorded in the state directory that still run (each ends its container's pid namespace). */
function containerPids(stateDir: string, suffix: string): number[] {
  try {
    return parsePidLines(readFileSync(join(stateDir, 'pids'), 'utf8')).filter((p) => p.name.startsWith(`podman-ksl-${suffix}-`) && isRunning(p)).map((p) => p.pid);
  } catch {
    return [];
  }
}

/** SIGKILLs and waits until each is gone or a zombie (this machine's init may reap late; a zombie holds no cgroup). */
async function killAll(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  const alive = (pid: number) => { try { return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; } };
  for (const deadline = Date.now() + 3000; pids.some(alive) && Date.now() < deadline;) await sleep(20);
}

/** Every cgroup hierarchy's mount point (v1 controllers and v2): a cgroupfs-managed podman makes its groups in each. */
function cgroupMounts(): string[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2').map((m) => m.mountPoint);
}

/** Removes the (empty) cgroup parents a crashed run left behind: those of labs whose owner is gone. */
async function removeLeftoverGroups(): Promise<void> {
  for (const hierarchy of cgroupMounts()) {
    for (const entry of readdirSync(hierarchy)) {
      const suffix = /^ksl-([0-9a-f]{6})-podman$/.exec(entry)?.[1];
      if (suffix && ownerState(suffix) === 'dead') await removeTree(join(hierarchy, entry)).catch(() => undefined); // still busy: next time
    }
  }
}

/** Runs a command (no shell), returns stdout; a failure carries the command, status and stderr. */
async function run(argv: readonly string[], timeoutMs: number, env?: Record<string, string | undefined>): Promise<string> {
  const [file, ...args] = argv;
  const clean = env && Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const r = await startProgram(file!, args, { stderr: 'collect', timeoutMs, ...(clean ? { env: clean } : {}) }).result;
  if (!runFailed(r)) return r.stdout;
  const tool = new ToolError(argv, r.exitCode, r.stderr, r.error ?? (r.timedOut ? new Error(`timed out after ${timeoutMs} ms`) : undefined));
  throw new PodmanLabError(tool.message, 'podmanAvailable() says what is missing; a call that timed out may have met a frozen container', tool);
}

/**
 * A script that runs podman in this env (its configuration, mount and network
 * namespaces): what ksapp is given as KSAPP_PODMAN to find the env's containers.
 */
export async function podmanWrapper(env: PodmanEnv): Promise<string> {
  const file = join(env.dir, 'podman-cli');
  const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  await writeFile(file, [
    '#!/bin/sh',
    `export CONTAINERS_CONF=${q(join(env.dir, 'containers.conf'))} CONTAINERS_STORAGE_CONF=${q(join(env.dir, 'storage.conf'))}`,
    `exec nsenter --mount=/proc/${env.holder.pid}/ns/mnt --net=${NETNS_DIR}/${env.netns} -- podman "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });
  return file;
}
