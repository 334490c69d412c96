// A private Docker Engine (Debian's docker.io: dockerd and its own containerd)
// whose containers' network lives inside one lab namespace (issue 16: `ksapp
// protect --container` finds Docker containers too). dockerd runs under
// `nsenter --net` into that namespace, so its bridge, veths, iptables-nft
// tables and forwarding sysctls land there, never in the machine's. As in
// podman.ts, a "holder" keeps a private mount namespace in which the paths
// Docker hard-codes (/etc/docker: its key.json; /run/containerd: the shims'
// sockets; /run/docker: plugins) and /etc/resolv.conf are the env's own; every
// other path (data root, exec root, pid file, API socket) is given by flag.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KsappError } from '../errors.js';
import {
  cgroupParentOf, hostProblem, isZombie, onPath, removeLeftoverGroups, run, startHolder, stopEnv, thawAll,
  type Attempt, type ContainerEnv, type ContainerEnvOptions, type Runtime,
} from './container-env.js';
import { containerNaming, containerStarted, type ContainerNetwork, type ContainerSpec, type LabContainer } from './container-facts.js';
import { logTail } from './errors.js';
import { spawnIn } from './netns.js';
import { isRunning, recordPid, startTimeOf, type ProcId } from './state.js';

/** A failure of the lab's Docker environment (a runtime fault, exit status 1). */
export class DockerLabError extends KsappError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { code: 'LAB_DOCKER_FAILED', hint, cause, exitCode: 1 });
  }
}

const DOCKER: Runtime = { name: 'docker', ErrorClass: DockerLabError };

/** The env's bridge network: never Docker's default 172.17.0.0/16 (its default bridge is off: `--bridge none`). */
export const DOCKER_SUBNET4 = '10.93.1.0/24';
export const DOCKER_SUBNET6 = 'fd93:1::/64';
/** A docker call that takes longer than this is stuck (a frozen container). */
const CALL_TIMEOUT_MS = 30_000;
/** How long dockerd may take to answer on its socket, and to stop on SIGTERM. */
const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

/** Options of startDocker. */
export type DockerOptions = ContainerEnvOptions;

/** A running private Docker environment; its own directory holds data root, exec root, API socket, CLI config and logs. */
export interface DockerEnv extends ContainerEnv {
  /** The API socket (DOCKER_HOST is `unix://` + this). */
  readonly socket: string;
  /** dockerd, started in the holder's mount namespace. */
  readonly dockerd: ProcId;
  /** Runs the docker CLI against this env and returns its stdout. */
  docker(args: readonly string[], timeoutMs?: number): Promise<string>;
}

/** How a container is networked: the env's bridge network, the lab namespace itself, or another container's namespace. */
export type DockerNetwork = ContainerNetwork;
/** A container to start; its root filesystem is imported as its image. */
export type DockerContainerSpec = ContainerSpec;
/** A started container, with what the kernel says about it. */
export type DockerContainer = LabContainer;

/** Null when Docker can run containers in a lab here, else why not (for a test's skip message). */
export async function dockerAvailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (a rootful dockerd)';
  // tool → Debian package; the docker CLI may come from elsewhere (/usr/local/bin), docker.io brings one too.
  const needed: Array<[string, string]> = [['dockerd', 'docker.io'], ['docker', 'docker.io'], ['containerd', 'containerd'], ['containerd-shim-runc-v2', 'containerd'],
    ['runc', 'runc'], ['iptables', 'iptables'], ['nsenter', 'util-linux'], ['unshare', 'util-linux'], ['tar', 'tar']];
  const problem = hostProblem(needed.filter(([tool]) => onPath(tool) === undefined));
  if (problem !== null) return problem;
  const version = await run(DOCKER, ['dockerd', '--version'], 5000).catch((e: unknown) => `failed: ${(e as Error).message}`);
  return /Docker version \d+\./.test(version) ? null : `dockerd does not run: ${version.trim()}`;
}

/** dockerd's command line (pure): every path it would otherwise share with the machine is the env's own. */
export function dockerdArgs(o: { dir: string; socket: string; cgroupParent: string }): string[] {
  return [
    '--data-root', join(o.dir, 'data'), '--exec-root', join(o.dir, 'exec'), '--pidfile', join(o.dir, 'dockerd.pid'),
    '-H', `unix://${o.socket}`, '--config-file', join(o.dir, 'daemon.json'),
    '--storage-driver', 'vfs', // no overlay mounts to leak; a busybox image is a few MB
    '--default-runtime', 'runc', // crun refuses hybrid cgroups
    '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', o.cgroupParent,
    '--bridge', 'none', // no docker0 on 172.17.0.0/16: containers join the env's own network
    '--iptables', '--ip-masq', '--experimental', '--ip6tables', // 20.10 writes ip6tables rules only when experimental
    '--userland-proxy=false', // no docker-proxy processes (nothing is published)
  ];
}

/** Starts a private dockerd (with its own containerd) whose containers' network lives in `o.netns`, with its bridge network created. */
export async function startDocker(o: DockerOptions): Promise<DockerEnv> {
  const dir = join(o.dir, 'docker');
  const cli = onPath('docker');
  if (cli === undefined) throw new DockerLabError('no docker CLI on PATH', 'apt-get install docker.io');
  // Docker's fixed paths, replaced by the env's own in the holder's mount namespace.
  const binds = { '/etc/docker': join(dir, 'etc'), '/run/containerd': join(dir, 'containerd'), '/run/docker': join(dir, 'run'), '/etc/resolv.conf': join(dir, 'resolv.conf') };
  await Promise.all([binds['/etc/docker'], binds['/run/containerd'], binds['/run/docker'], join(dir, 'cli')].map((p) => mkdir(p, { recursive: true })));
  // Bind targets must exist in the machine's tree; docker.io and containerd create the same empty directories.
  await Promise.all(['/etc/docker', '/run/containerd', '/run/docker'].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  await writeFile(join(dir, 'daemon.json'), '{}\n');
  await writeFile(binds['/etc/resolv.conf'], o.dns.map((a) => `nameserver ${a}\n`).join(''));
  await removeLeftoverGroups(DOCKER);
  const holder = await startHolder(DOCKER, o, dir, binds);
  const socket = join(dir, 'docker.sock');
  const cgroupParent = cgroupParentOf(DOCKER, o.suffix);
  const log = join(dir, 'dockerd.log');
  const proc = spawnIn(o.netns, ['nsenter', `--mount=/proc/${holder.pid}/ns/mnt`, '--', 'dockerd', ...dockerdArgs({ dir, socket, cgroupParent })], log);
  const dockerd: ProcId = { pid: proc.pid ?? 0, start: (proc.pid && startTimeOf(proc.pid)) || 0 };
  if (proc.pid) recordPid(o.dir, `dockerd-${o.suffix}`, proc.pid);
  const cliEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'cli') };
  const env = dockerEnv(o, { dir, socket, cgroupParent, cli, cliEnv, holder, dockerd });
  try {
    await waitForApi(env, log);
    await env.docker(['network', 'create', '--driver', 'bridge', '--subnet', DOCKER_SUBNET4, '--ipv6', '--subnet', DOCKER_SUBNET6,
      '--opt', `com.docker.network.bridge.name=${env.bridge}`, env.network]);
  } catch (error) {
    await env.stop().catch(() => undefined);
    throw error;
  }
  return env;
}

/** Polls the API socket until dockerd answers; fails early with its log when it exits. */
async function waitForApi(env: DockerEnv, log: string): Promise<void> {
  for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; await sleep(100)) {
    if (!isRunning(env.dockerd)) break;
    if (existsSync(env.socket) && (await env.docker(['version', '--format', '{{.Server.Version}}'], 5000).then(() => true, () => false))) return;
  }
  throw new DockerLabError(`dockerd did not come up in ${env.netns}: ${logTail(log, 8) || 'no output'}`, 'see dockerd.log in the env directory; dockerAvailable() says what is missing');
}

interface EnvParts { dir: string; socket: string; cgroupParent: string; cli: string; cliEnv: Record<string, string | undefined>; holder: ProcId & { mountNs: string }; dockerd: ProcId }

function dockerEnv(o: DockerOptions, p: EnvParts): DockerEnv {
  let stopped: Promise<void> | undefined;
  const self: DockerEnv = {
    netns: o.netns, suffix: o.suffix, dir: p.dir, stateDir: o.dir, socket: p.socket, network: `ksl-${o.suffix}`, bridge: `kd${o.suffix}`,
    cgroupParent: p.cgroupParent, holder: { pid: p.holder.pid, start: p.holder.start }, mountNs: p.holder.mountNs, dockerd: p.dockerd,
    async docker(args, timeoutMs = CALL_TIMEOUT_MS) {
      if (!isRunning(p.dockerd)) throw new DockerLabError(`the dockerd of lab ${o.suffix} is gone (pid ${p.dockerd.pid} ended)`, 'start a new env with startDocker()');
      return run(DOCKER, [p.cli, ...args], timeoutMs, p.cliEnv);
    },
    stop() {
      stopped ??= stopEnv(DOCKER, self, (attempt) => removeAll(self, attempt));
      return stopped;
    },
  };
  return self;
}

/** Imports the root filesystem as the container's image, starts it, and reports its id, pid, cgroup and network as the kernel sees them. */
export async function runDockerContainer(env: DockerEnv, spec: DockerContainerSpec): Promise<DockerContainer> {
  const { name, network } = containerNaming(DOCKER, env, spec);
  const tarball = join(env.dir, `${spec.name}.tar`);
  await run(DOCKER, ['tar', '-C', spec.rootfs, '-cf', tarball, '.'], CALL_TIMEOUT_MS);
  await env.docker(['import', tarball, name]);
  await rm(tarball, { force: true });
  await env.docker(['run', '--detach', '--name', name, '--network', network, name, ...spec.cmd]);
  return containerStarted(DOCKER, env, name, await env.docker(['inspect', '--type', 'container', '--format', '{{.Id}} {{.State.Pid}}', name]));
}

/** What the env removes through dockerd before stopEnv's sweep: every container and the network, then dockerd itself. */
async function removeAll(env: DockerEnv, attempt: Attempt): Promise<void> {
  await attempt(() => thawAll(env.cgroupParent)); // runc hangs on a frozen container
  if (!isRunning(env.dockerd)) return;
  await attempt(async () => {
    const ids = (await env.docker(['ps', '--all', '--quiet'])).split('\n').filter(Boolean);
    if (ids.length > 0) await env.docker(['rm', '--force', ...ids]);
  });
  await attempt(() => env.docker(['network', 'rm', env.network]));
  await endGracefully(env.dockerd); // dockerd stops its containerd and removes its mounts
}

/** SIGTERM, then up to STOP_GRACE_MS for it to end (stopEnv's sweep SIGKILLs it after). */
async function endGracefully(p: ProcId): Promise<void> {
  try { process.kill(p.pid, 'SIGTERM'); } catch { return; }
  for (const deadline = Date.now() + STOP_GRACE_MS; isRunning(p) && !isZombie(p.pid) && Date.now() < deadline;) await sleep(50);
}

/**
 * A script that runs the docker CLI against this env (its API socket, its own
 * CLI configuration): what ksapp is given as KSAPP_DOCKER to find its containers.
 */
export async function dockerWrapper(env: DockerEnv): Promise<string> {
  const file = join(env.dir, 'docker-cli');
  const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  const cli = onPath('docker') ?? 'docker';
  await writeFile(file, ['#!/bin/sh', `export DOCKER_HOST=${q(`unix://${env.socket}`)} DOCKER_CONFIG=${q(join(env.dir, 'cli'))}`, `exec ${q(cli)} "$@"`, ''].join('\n'), { mode: 0o755 });
  return file;
}
