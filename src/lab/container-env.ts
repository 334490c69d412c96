// What the lab's private container runtimes (podman.ts, docker.ts) share around
// their daemon: the host checks, running a tool, the "holder" that keeps a private
// mount namespace in the lab namespace, and the teardown that ends every process
// an env started and removes its cgroups and files. A Runtime says what differs:
// its name (in every name it leaves on the machine) and its module's error.
import { existsSync, readFileSync, readlinkSync, readdirSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findCgroup2Mount, parseMountinfo } from '../../cgroups/mountinfo.js';
import { removeTree } from '../../cgroups/tree.js';
import type { KsappError } from '../errors.js';
import { runFailed, startProgram } from '../spawn.js';
import { ToolError } from '../tools.js';
import { logTail } from './errors.js';
import { NETNS_DIR, spawnIn } from './netns.js';
import { isRunning, ownerState, parsePidLines, recordPid, startTimeOf, type ProcId } from './state.js';

/** A lab container runtime, as the shared parts need it. */
export interface Runtime {
  /** In its cgroup parent, pid records, holder name and messages; `<name>Available()` says what it lacks. */
  readonly name: 'podman' | 'docker';
  /** Its module's error (PodmanLabError, DockerLabError). */
  readonly ErrorClass: new (message: string, hint: string, cause?: unknown) => KsappError;
}

/** Options of startPodman and startDocker. */
export interface ContainerEnvOptions {
  /** The lab namespace the containers' network lives in (lab.ns.client). */
  netns: string;
  /** The lab suffix; every name (network, bridge, containers, images, cgroup parent) carries it. */
  suffix: string;
  /** A state directory; pass lab.dir, so the lab's own teardown also ends the containers. */
  dir: string;
  /** The resolvers the containers' DNS (aardvark-dns, Docker's embedded DNS, podman's `host` containers) uses; keep them in the lab (lab.addr.internet4). */
  dns: readonly string[];
}

/** A running private container environment, whichever the runtime. */
export interface ContainerEnv {
  readonly netns: string;
  readonly suffix: string;
  /** Its own directory (under stateDir): the runtime's storage, state, configuration and logs. */
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
  /** Removes every container, ends every process it started, removes its cgroups and files. Idempotent. */
  stop(): Promise<void>;
}

/** The absolute path of `tool` in PATH, or undefined. */
export function onPath(tool: string): string | undefined {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((d) => join(d, tool)).find((f) => f.startsWith('/') && existsSync(f));
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

/** Why a lab runtime cannot run here, or null: `missing` tools (each with its Debian package), no static busybox, no cgroup v2. */
export function hostProblem(missing: ReadonlyArray<readonly [tool: string, pkg: string]>): string | null {
  if (missing.length > 0) return `${missing.map(([t]) => t).join(', ')} not installed (apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')})`;
  if (!existsSync('/bin/busybox') || !isStaticElf(readFileSync('/bin/busybox'))) return 'no static /bin/busybox for the container root filesystem (apt-get install busybox-static)';
  if (findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8')) === undefined) return 'no cgroup v2 mount';
  return null;
}

/** Runs a command (no shell), returns stdout; a failure carries the command, status and stderr. */
export async function run(rt: Runtime, argv: readonly string[], timeoutMs: number, env?: Record<string, string | undefined>): Promise<string> {
  const [file, ...args] = argv;
  const clean = env && Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const r = await startProgram(file!, args, { stderr: 'collect', timeoutMs, ...(clean ? { env: clean } : {}) }).result;
  if (!runFailed(r)) return r.stdout;
  const tool = new ToolError(argv, r.exitCode, r.stderr, r.error ?? (r.timedOut ? new Error(`timed out after ${timeoutMs} ms`) : undefined));
  throw new rt.ErrorClass(tool.message, `${rt.name}Available() says what is missing; a call that timed out may have met a frozen container`, tool);
}

/**
 * Starts the holder: a private mount namespace (in the lab namespace, so the lab's teardown also ends it) in which
 * each target of `binds` (target → source) is bind-mounted from its source; it prints "ready" once they are, then
 * sleeps until killed. Its pid is recorded in the state directory.
 */
export async function startHolder(rt: Runtime, o: ContainerEnvOptions, dir: string, binds: Readonly<Record<string, string>>): Promise<ProcId & { mountNs: string }> {
  const log = join(dir, 'holder.log');
  const script = `set -e; ${Object.keys(binds).map((target, i) => `mount --bind "$${i + 1}" ${target}; `).join('')}echo ready; exec sleep infinity`;
  const proc = spawnIn(o.netns, ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, `ksapp-${rt.name}-holder`, ...Object.values(binds)], log, 'pipe');
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    proc.stdout?.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) { clearTimeout(timer); resolve(true); } });
    void proc.then(() => { clearTimeout(timer); resolve(false); });
  });
  const start = proc.pid === undefined ? undefined : startTimeOf(proc.pid);
  if (!ready || proc.pid === undefined || start === undefined) {
    proc.kill('SIGKILL');
    throw new rt.ErrorClass(`the ${rt.name} mount namespace could not be set up in ${o.netns}: ${logTail(log) || 'no output'}`, 'needs root with CAP_SYS_ADMIN and util-linux unshare');
  }
  recordPid(o.dir, `${rt.name}-holder-${o.suffix}`, proc.pid);
  return { pid: proc.pid, start, mountNs: readlinkSync(`/proc/${proc.pid}/ns/mnt`) };
}

/** The cgroup parent of a lab's containers. */
export function cgroupParentOf(rt: Runtime, suffix: string): string {
  return `/ksl-${suffix}-${rt.name}`;
}

/** The name under which a container's init process is recorded in the state directory (a prefix of those names, given one). */
export function pidRecordOf(rt: Runtime, container: string): string {
  return `${rt.name}-${container}`;
}

/** Removes the (empty) cgroup parents a crashed run left behind: those of labs whose owner is gone. */
export async function removeLeftoverGroups(rt: Runtime): Promise<void> {
  for (const hierarchy of cgroupMounts()) {
    for (const entry of readdirSync(hierarchy)) {
      const suffix = /^ksl-([0-9a-f]{6})-/.exec(entry)?.[1];
      if (suffix && `/${entry}` === cgroupParentOf(rt, suffix) && ownerState(suffix) === 'dead') await removeTree(join(hierarchy, entry)).catch(() => undefined); // still busy: next time
    }
  }
}

/** Runs one step of a teardown; a failure is kept for the end, and the teardown goes on. */
export type Attempt = (step: () => Promise<unknown>) => Promise<void>;

/** Stops an env: first `own`, what its runtime removes itself, then every process it started is killed, its cgroups and directory removed. */
export async function stopEnv(rt: Runtime, env: ContainerEnv, own: (attempt: Attempt) => Promise<void>): Promise<void> {
  const failures: unknown[] = [];
  const attempt: Attempt = async (step) => { await step().catch((e: unknown) => { failures.push(e); }); };
  await own(attempt);
  await killAll([...envPids(env), ...containerPids(rt, env)]);
  for (const hierarchy of cgroupMounts()) await attempt(() => removeTree(join(hierarchy, env.cgroupParent)));
  await attempt(() => rm(env.dir, { recursive: true, force: true }));
  if (failures.length > 0) throw new rt.ErrorClass(`the ${rt.name} environment of lab ${env.suffix} was not removed cleanly`, "see the cause; the lab's destroy() removes the rest", failures[0]);
}

/** Thaws every container group (the children of `parent` named `prefix…`), so nothing waits on a frozen process while being removed. */
export async function thawAll(parent: string, prefix = ''): Promise<void> {
  const mount = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  if (mount === undefined || !existsSync(join(mount, parent))) return;
  for (const child of readdirSync(join(mount, parent))) {
    if (child.startsWith(prefix)) await writeFile(join(mount, parent, child, 'cgroup.freeze'), '0').catch(() => undefined);
  }
}

/**
 * The processes the env started outside its containers (the holder, the daemons, the shims or conmon, podman's exit
 * commands): in both its mount namespace and the lab namespace. Both must match, so a namespace id reused after the
 * env's namespace died can never select a stranger; once the lab namespace is gone, the lab's teardown has ended them.
 */
function envPids(env: ContainerEnv): number[] {
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
function containerPids(rt: Runtime, env: ContainerEnv): number[] {
  try {
    return parsePidLines(readFileSync(join(env.stateDir, 'pids'), 'utf8')).filter((p) => p.name.startsWith(pidRecordOf(rt, `ksl-${env.suffix}-`)) && isRunning(p)).map((p) => p.pid);
  } catch {
    return [];
  }
}

/** True when the process is a zombie or gone (this machine's init may reap late; a zombie holds no cgroup). */
export function isZombie(pid: number): boolean {
  try { return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}

/** SIGKILLs and waits until each is gone or a zombie. */
async function killAll(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const deadline = Date.now() + 3000; pids.some((p) => !isZombie(p)) && Date.now() < deadline;) await sleep(20);
}

/** Every cgroup hierarchy's mount point (v1 controllers and v2): a cgroupfs-managed runtime makes its groups in each. */
function cgroupMounts(): string[] {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2').map((m) => m.mountPoint);
}
