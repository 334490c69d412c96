// Tearing a lab down: on destroy(), on Ctrl-C / exit, and for leftovers of a
// crashed run. Processes are ended by pid only: the ones the lab recorded
// (checked against their start time) and whatever still runs inside the lab's
// own namespaces.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tools } from '../tools.js';
import { listNamespaces, namespacePids } from './netns.js';
import { isRunning, ownerState, recordedPids, stateDir, stateSuffixes } from './state.js';
import { wgIfaceNames } from './topology.js';

/** The directory where wireguard-go (all namespaces alike) keeps its control sockets. */
export const WG_SOCKET_DIR = '/run/wireguard';

const LAB_NS = /^ksl-([0-9a-f]{6})-(client|isp|vpn|inet)$/;

/** Namespace names that belong to the lab with this suffix, among the given names. */
export function labNamespaces(names: readonly string[], suffix: string): string[] {
  return names.filter((n) => LAB_NS.exec(n)?.[1] === suffix);
}

/** Pids of wireguard-go processes serving one of this lab's interfaces, either tunnel's (even outside any named namespace). */
function wireguardPids(suffix: string): number[] {
  const ifaces = wgIfaceNames(suffix);
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('wireguard-go')) && argv.some((a) => ifaces.includes(a))) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Every pid to end for this lab: recorded ones still running, wireguard-go's, and all inside its namespaces. */
async function labPids(suffix: string, namespaces: readonly string[]): Promise<number[]> {
  const pids = new Set<number>(recordedPids(stateDir(suffix)).filter(isRunning).map((p) => p.pid));
  for (const pid of wireguardPids(suffix)) pids.add(pid);
  for (const ns of namespaces) for (const pid of await namespacePids(ns)) pids.add(pid);
  pids.delete(process.pid);
  return [...pids];
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false; // already gone
  }
}

/** Sends SIGTERM, waits up to graceMs, then SIGKILLs whatever is left. */
export async function endPids(pids: readonly number[], graceMs = 1000): Promise<void> {
  let alive = pids.filter((p) => signal(p, 'SIGTERM'));
  for (const deadline = Date.now() + graceMs; alive.length > 0 && Date.now() < deadline; ) {
    await sleep(25);
    alive = alive.filter((p) => signal(p, 0));
  }
  for (const p of alive) signal(p, 'SIGKILL');
}

function removeFiles(suffix: string): void {
  for (const iface of wgIfaceNames(suffix)) rmSync(`${WG_SOCKET_DIR}/${iface}.sock`, { force: true });
  rmSync(stateDir(suffix), { recursive: true, force: true });
}

/** Removes everything of one lab: its processes, namespaces, wireguard sockets and state directory. */
export async function teardown(suffix: string): Promise<string[]> {
  const namespaces = labNamespaces(await listNamespaces(), suffix);
  await endPids(await labPids(suffix, namespaces));
  for (const ns of namespaces) {
    try {
      execFileSync(tools.ip, ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already removed by someone else
    }
  }
  removeFiles(suffix);
  return namespaces;
}

/** The same teardown without waiting, for process 'exit' and signal handlers. */
export function teardownSync(suffix: string): void {
  const pids = new Set([...recordedPids(stateDir(suffix)).filter(isRunning).map((p) => p.pid), ...wireguardPids(suffix)]);
  const namespaces = ['client', 'isp', 'vpn', 'inet'].map((role) => `ksl-${suffix}-${role}`);
  for (const ns of namespaces) {
    try {
      const out = execFileSync(tools.ip, ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const p of out.split('\n').map(Number)) if (p > 0) pids.add(p);
    } catch {
      // namespace absent
    }
  }
  pids.delete(process.pid);
  for (const p of pids) signal(p, 'SIGKILL');
  for (const ns of namespaces) {
    try {
      execFileSync(tools.ip, ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // namespace absent
    }
  }
  removeFiles(suffix);
}

const live = new Set<string>();
let handlersInstalled = false;

function onSignal(sig: NodeJS.Signals): void {
  for (const s of live) teardownSync(s);
  live.clear();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // Nobody else handles it: let the default action end the process as it would have.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

/** Marks a lab as live in this process, so Ctrl-C, SIGTERM or exit removes it. */
export function registerLab(suffix: string): void {
  live.add(suffix);
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => { for (const s of live) teardownSync(s); });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Forgets a lab once it has been destroyed. */
export function unregisterLab(suffix: string): void {
  live.delete(suffix);
}

/**
 * Finds labs left by crashed runs (a ksl-* namespace or state directory whose owner
 * process is gone) and removes them with their wireguard-go processes; returns the
 * namespaces removed. Labs of live processes (parallel tests) are left alone.
 */
export async function removeLeftoverLabs(): Promise<string[]> {
  const names = await listNamespaces();
  const suffixes = new Set<string>(stateSuffixes());
  for (const n of names) { const m = LAB_NS.exec(n); if (m?.[1]) suffixes.add(m[1]); }
  const removed: string[] = [];
  for (const s of suffixes) {
    if (live.has(s) || ownerState(s) !== 'dead') continue;
    removed.push(...(await teardown(s)));
  }
  return removed;
}
