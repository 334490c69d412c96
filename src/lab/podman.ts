// A private rootful Podman whose containers' network lives inside one lab
// namespace (issue 16: `ksapp protect --container`). Every podman call runs
// under `nsenter --net` into that namespace, so netavark's bridge, veths,
// iptables-nft tables and forwarding sysctls land there, never in the
// machine's. A "holder" process keeps a private mount namespace in which
// the paths podman hard-codes for rootful use (/run/containers/networks:
// netavark and aardvark-dns state; /run/netns: container namespaces; /run/runc:
// runc's state) and /etc/resolv.conf are bind-mounted from the env's own directory.
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { KsappError } from '../errors.js';
import {
  cgroupParentOf, hostProblem, isStaticElf, onPath, removeLeftoverGroups, run, startHolder, stopEnv, thawAll,
  type Attempt, type ContainerEnv, type ContainerEnvOptions, type Runtime,
} from './container-env.js';
import { containerNaming, containerStarted, type ContainerSpec, type LabContainer } from './container-facts.js';
import { NETNS_DIR } from './netns.js';
import { isRunning, type ProcId } from './state.js';

export { isStaticElf } from './container-env.js';
export { findLink, parseDefaultGateway, parseIpAddrJson, type ContainerNetwork, type ContainerSpec } from './container-facts.js';

/** A failure of the lab's Podman environment (a runtime fault, exit status 1). */
export class PodmanLabError extends KsappError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { code: 'LAB_PODMAN_FAILED', hint, cause, exitCode: 1 });
  }
}

const PODMAN: Runtime = { name: 'podman', ErrorClass: PodmanLabError };

/** The env's bridge network: never podman's default 10.88.0.0/16, so a container on the machine's own podman cannot be mistaken for ours. */
export const PODMAN_SUBNET4 = '10.89.1.0/24';
export const PODMAN_SUBNET6 = 'fd89:1::/64';
/** Where podman looks for netavark and aardvark-dns (containers.conf `helper_binaries_dir`). */
const HELPER_DIRS = ['/usr/local/libexec/podman', '/usr/local/lib/podman', '/usr/libexec/podman', '/usr/lib/podman'];
/** A podman call that takes longer than this is stuck (a frozen container, a lock). */
const CALL_TIMEOUT_MS = 30_000;

/** Options of startPodman. */
export type PodmanOptions = ContainerEnvOptions;

/** A running private Podman environment; its own directory holds storage, run root, tmp, network configs and netavark state. */
export interface PodmanEnv extends ContainerEnv {
  /** Runs podman with this env's configuration and returns its stdout. */
  podman(args: readonly string[], timeoutMs?: number): Promise<string>;
}

/** A started container, with what the kernel says about it. */
export type PodmanContainer = LabContainer;

/** Null when podman can run containers in a lab here, else why not (for a test's skip message). */
export async function podmanAvailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (rootful podman)';
  // tool → Debian package; netavark and aardvark-dns live in podman's helper directories, not on PATH.
  const onPathTools: Array<[string, string]> = [['podman', 'podman'], ['conmon', 'conmon'], ['runc', 'runc'], ['iptables', 'iptables'], ['nsenter', 'util-linux'], ['unshare', 'util-linux']];
  const helpers: Array<[string, string]> = [['netavark', 'netavark'], ['aardvark-dns', 'aardvark-dns']];
  const problem = hostProblem([
    ...onPathTools.filter(([tool]) => onPath(tool) === undefined),
    ...helpers.filter(([tool]) => !HELPER_DIRS.some((d) => existsSync(join(d, tool)))),
  ]);
  if (problem !== null) return problem;
  const version = await run(PODMAN, ['podman', '--version'], 5000).catch(() => '');
  const major = Number(/version (\d+)\./.exec(version)?.[1]);
  return major >= 4 ? null : `podman ${version.trim() || '(unknown version)'} is older than 4 (no netavark backend)`;
}

/** Builds a minimal root filesystem from the static /bin/busybox (every applet a symlink in /bin) and returns `dir`. */
export async function busyboxRootfs(dir: string, busybox = '/bin/busybox'): Promise<string> {
  if (!isAbsolute(dir)) throw new PodmanLabError(`the root filesystem directory must be absolute, got "${dir}"`, 'pass an absolute path (podman --rootfs needs one)');
  if (!isStaticElf(await readFile(busybox))) throw new PodmanLabError(`${busybox} is not a static executable`, 'install busybox-static (the dynamic busybox needs a libc in the container)');
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'root', 'run', 'var']) await mkdir(join(dir, d), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(busybox, join(dir, 'bin/busybox'));
  const applets = (await run(PODMAN, [busybox, '--list'], 5000)).split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
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
  await removeLeftoverGroups(PODMAN);
  // podman's fixed rootful paths, replaced by the env's own in the holder's mount namespace.
  const holder = await startHolder(PODMAN, o, dir, {
    '/run/containers/networks': paths.netrun, '/run/netns': paths.netns, '/run/runc': paths.runc, '/etc/resolv.conf': join(dir, 'resolv.conf'),
  });
  const env = podmanEnv(o, dir, network, holder, { ...process.env, CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storageConf });
  try {
    await env.podman(['network', 'create', '--subnet', PODMAN_SUBNET4, '--ipv6', '--subnet', PODMAN_SUBNET6, network]);
    await nameBridge(join(paths.netconf, `${network}.json`), env.bridge);
  } catch (error) {
    await env.stop().catch(() => undefined);
    throw error;
  }
  return env;
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
    netns: o.netns, suffix: o.suffix, dir, stateDir: o.dir, network, bridge: `kp${o.suffix}`, cgroupParent: cgroupParentOf(PODMAN, o.suffix), holder, mountNs: h.mountNs,
    async podman(args, timeoutMs = CALL_TIMEOUT_MS) {
      if (!isRunning(holder)) throw new PodmanLabError(`the podman environment of lab ${o.suffix} is gone (its holder ${holder.pid} ended)`, 'start a new one with startPodman()');
      return run(PODMAN, ['nsenter', ...nsArgs(), 'podman', ...args], timeoutMs, env);
    },
    stop() {
      stopped ??= stopEnv(PODMAN, self, (attempt) => removeAll(self, attempt));
      return stopped;
    },
  };
  return self;
}

/** Starts a container in the env and reports its id, pid, cgroup and network as the kernel sees them. */
export async function runContainer(env: PodmanEnv, spec: ContainerSpec): Promise<PodmanContainer> {
  const { name, network } = containerNaming(PODMAN, env, spec);
  const publish = (spec.publish ?? []).flatMap((p) => ['--publish', p]);
  await env.podman(['run', '-d', '--name', name, '--runtime', 'runc', '--cgroup-parent', env.cgroupParent, '--network', network, ...publish, '--rootfs', spec.rootfs, ...spec.cmd]);
  return containerStarted(PODMAN, env, name, await env.podman(['inspect', '--format', '{{.Id}} {{.State.Pid}}', name]));
}

/** Removes a container at once (no stop grace: busybox as pid 1 ignores SIGTERM). */
export async function removeContainer(env: PodmanEnv, name: string): Promise<void> {
  await env.podman(['rm', '--force', '--time', '0', name]);
}

/** What the env removes through podman before stopEnv's sweep, while its holder lives: every container and the network. */
async function removeAll(env: PodmanEnv, attempt: Attempt): Promise<void> {
  if (!isRunning(env.holder)) return;
  await attempt(() => thawAll(env.cgroupParent, 'libpod-')); // podman exec and runc hang on a frozen container
  // A container others share a namespace with is refused until they are gone: the first pass removes those, the second the rest.
  await env.podman(['rm', '--all', '--force', '--time', '0']).catch(() => undefined);
  await attempt(() => env.podman(['rm', '--all', '--force', '--time', '0']));
  await attempt(() => env.podman(['network', 'rm', '--force', env.network]));
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
