// Finding a running container through its runtime's CLI (Podman, Docker):
// its id, init process and network mode. What its network looks like is read
// from the kernel (container-net.ts), the same way for every runtime.
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { ContainerRef } from '../supervisor/app.js';
import { runTool, ToolError, tools } from '../tools.js';
import { badInput } from './errors.js';

/** The command that runs each runtime's CLI (KSAPP_PODMAN, KSAPP_DOCKER: a wrapper for a remote or private setup). */
export interface ContainerRuntimes {
  readonly podman: readonly string[];
  readonly docker: readonly string[];
}

export const DEFAULT_RUNTIMES: ContainerRuntimes = { podman: [tools.podman], docker: [tools.docker] };

/** A container found running. */
export interface FoundContainer {
  readonly ref: ContainerRef;
  /** Its init process, in this host's pid namespace. */
  readonly pid: number;
  /** `bridge`, a network name, `host`, `container:ID`, … as its runtime says. */
  readonly networkMode: string;
}

interface Inspected {
  Id?: string;
  Name?: string;
  State?: { Running?: boolean; Pid?: number; Status?: string };
  HostConfig?: { NetworkMode?: string };
}

/** What `inspect` says of one container (pure); throws an actionable error when it is not running. */
export function parseInspect(runtime: ContainerRef['runtime'], given: string, text: string): FoundContainer {
  const [c] = JSON.parse(text) as Inspected[];
  if (!c?.Id || !/^[0-9a-f]{12,64}$/.test(c.Id)) throw badInput('CONTAINER_UNKNOWN', `${runtime} knows no container "${given}"`, `see \`${runtime} ps -a\``);
  const name = (c.Name ?? c.Id).replace(/^\//, '');
  if (!c.State?.Running || !c.State.Pid) {
    throw badInput('CONTAINER_NOT_RUNNING', `container ${name} is not running (${c.State?.Status ?? 'unknown state'})`,
      `start it (\`${runtime} start ${name}\`), then protect it; or give a config rule \`match: { container: ${name} }\`, which protects it whenever it runs`);
  }
  return { ref: { runtime, id: c.Id, name }, pid: c.State.Pid, networkMode: c.HostConfig?.NetworkMode ?? 'bridge' };
}

/** A name or id a runtime may know: refused before it reaches a command line. */
export function containerRefProblem(ref: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(ref) ? undefined : `must be a container name or id (letters, digits, _.-), got ${JSON.stringify(ref)}`;
}

/**
 * Finds a running container by name or id: Podman first, then Docker. A
 * runtime that is missing or does not know it is passed over; when none
 * knows it, the error says what each one answered.
 */
export async function findContainer(given: string, runtimes: ContainerRuntimes = DEFAULT_RUNTIMES): Promise<FoundContainer> {
  const problem = containerRefProblem(given);
  if (problem) throw badInput('CONTAINER_BAD_REF', `--container ${problem}`, 'give the name or id `podman ps` / `docker ps` shows');
  const answers: string[] = [];
  for (const runtime of ['podman', 'docker'] as const) {
    const [file, ...pre] = runtimes[runtime];
    if (!file) continue;
    let text: string;
    try {
      text = await runTool(file, [...pre, 'inspect', '--type', 'container', given]);
    } catch (error) {
      const why = error instanceof ToolError ? (error.stderr.trim().split('\n').pop() ?? error.message) : (error as Error).message;
      answers.push(`${runtime}: ${why || 'not found'}`);
      continue;
    }
    return parseInspect(runtime, given, text);
  }
  throw badInput('CONTAINER_UNKNOWN', `no running container named "${given}" (${answers.join('; ')})`, 'see `podman ps` or `docker ps` for the names of running containers');
}

/** The container's cgroup v2 group: its init process's, joined onto the mount (in-place protection never moves it). */
export async function containerGroup(pid: number, cgroupRoot: string): Promise<string> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  if (!line) throw badInput('CONTAINER_NO_GROUP', `container process ${pid} has no cgroup v2 group`, 'run the container with a cgroup v2 runtime (runc or crun)');
  return path.join(cgroupRoot, line.slice(3));
}

/**
 * The groups of every other process in the container's network namespace
 * (containers started with `--network container:…`, a pod's members): their
 * traffic is the container's, so the kill switch must stop them with it.
 */
export async function groupsSharingNet(pid: number, cgroupRoot: string, own: string, procRoot = '/proc'): Promise<string[]> {
  const net = await readlink(`${procRoot}/${pid}/ns/net`).catch(() => undefined);
  if (net === undefined) return [];
  const groups = new Set<string>();
  for (const entry of await readdir(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    if ((await readlink(`${procRoot}/${entry}/ns/net`).catch(() => undefined)) !== net) continue;
    const group = await containerGroup(Number(entry), cgroupRoot).catch(() => undefined);
    if (group !== undefined && group !== own && group !== cgroupRoot) groups.add(group);
  }
  return [...groups].sort();
}
