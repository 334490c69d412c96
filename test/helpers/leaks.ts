// Shared by the leak tests: start protected and unprotected apps in the lab's
// client namespace, and count what the internet host and the tunnel's resolver saw.
import { readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type Options, type ResultPromise } from 'execa';
import { waitUntil } from '../../src/demo/wait.js';
import { writeLabConfig } from '../../src/demo/lab-config.js';
import { execIn, fixturePath, type Lab, type Received } from '../../src/lab/index.js';
import { runTool } from '../../src/tools.js';
import { sweepStaleLocks } from '../../src/daemon/lock.js';
import { ksappIn } from './ksapp.js';

/** Writes a ksapp config for the lab (own cgroup parent) and returns its path. */
export function leakConfig(lab: Lab, name: string, parent: string, extra: readonly string[] = []): Promise<string> {
  return writeLabConfig(lab, name, { cgroupParent: parent, extra });
}

/** The sender fixture's argv. */
export const sender = (...args: string[]): string[] => [process.execPath, fixturePath('sender.mjs'), ...args];

/** A running `ksapp run` with its app. */
export interface Run {
  readonly child: ResultPromise;
  /** SIGTERM to ksapp (forwarded to the app), then its result; the app's group is killed if it lingers. */
  stop(): Promise<{ exitCode?: number; stderr: string; stdout: string }>;
}

/** What startRun starts. */
export interface RunSpec {
  readonly config: string;
  readonly name: string;
  /** The app's cgroup directory (parent/name), killed when the app does not end on SIGTERM. */
  readonly groupDir: string;
  readonly flags?: readonly string[];
  readonly command: readonly string[];
  readonly options?: Options;
}

/** Starts `ksapp run --config CFG --name NAME [flags] -- COMMAND` in the client namespace. */
export function startRun(lab: Lab, spec: RunSpec): Run {
  const child = ksappIn(lab, ['run', '--config', spec.config, '--name', spec.name, ...(spec.flags ?? []), '--', ...spec.command], spec.options);
  return {
    child,
    async stop() {
      child.kill('SIGTERM');
      const done = await Promise.race([child.then(() => true), sleep(5000).then(() => false)]);
      // Leftover processes of the app hold its stdout open; the group is the app.
      if (!done) await writeFile(path.join(spec.groupDir, 'cgroup.kill'), '1').catch(() => undefined);
      const r = await child;
      return { exitCode: r.exitCode, stderr: String(r.stderr ?? ''), stdout: String(r.stdout ?? '') };
    },
  };
}

/** Starts an unconfined process in the client namespace (the "other app"). */
export function startUnprotected(lab: Lab, argv: readonly string[]): ResultPromise {
  const a = [...lab.nsenterArgs('client'), ...argv];
  return execa(a[0]!, a.slice(1), { reject: false, stdin: 'ignore' });
}

/** Whether a record belongs to a tag: the tag itself, its children (TAG-childN), or a DNS name holding it as a label. */
export function ofTag(r: Received, tag: string): boolean {
  if (r.proto === 'dns') return r.tag.split('.').includes(tag);
  return r.tag === tag || r.tag.startsWith(`${tag}-child`);
}

/** What one tag's traffic looked like from the internet host, split by family and origin, since `from`. */
export interface Seen {
  tunnel4: number;
  tunnel6: number;
  client4: number;
  client6: number;
  /** Non-DNS packets from any address but the VPN server's: leaks when the tag is protected. */
  leaked: number;
  /** DNS queries for the tag that reached the ISP resolver (the internet host). */
  ispDns: number;
  /** Per exact tag (children separately): packets via the tunnel. */
  byTag: Record<string, { tunnel: number; leaked: number }>;
  /** Packets via the tunnel per protocol and family: udp, tcp, udp6, tcp6. */
  tunnelBy: Record<string, number>;
}

/** Counts the internet host's records of one tag (pure). */
export function seen(lab: Pick<Lab, 'origin'>, records: readonly Received[], tag: string, from = 0, to = Infinity): Seen {
  const s: Seen = { tunnel4: 0, tunnel6: 0, client4: 0, client6: 0, leaked: 0, ispDns: 0, byTag: {}, tunnelBy: {} };
  for (const r of records) {
    if (r.t < from || r.t > to || !ofTag(r, tag)) continue;
    if (r.proto === 'dns') { s.ispDns++; continue; }
    const v6 = r.src.includes(':');
    const origin = lab.origin(r.src);
    const t = (s.byTag[r.tag] ??= { tunnel: 0, leaked: 0 });
    if (origin === 'tunnel') {
      t.tunnel++;
      if (v6) s.tunnel6++; else s.tunnel4++;
      const key = `${r.proto}${v6 ? '6' : ''}`;
      s.tunnelBy[key] = (s.tunnelBy[key] ?? 0) + 1;
      continue;
    }
    t.leaked++;
    s.leaked++;
    if (origin === 'client') { if (v6) s.client6++; else s.client4++; }
  }
  return s;
}

/** Reads the internet host's log and counts one tag. */
export async function seenNow(lab: Lab, tag: string, from = 0, to = Infinity): Promise<Seen> {
  return seen(lab, await lab.received(), tag, from, to);
}

/** DNS queries for a tag that the tunnel's resolver answered since `from`. */
export async function tunnelDns(lab: Lab, tag: string, from = 0): Promise<number> {
  return (await lab.tunnelDnsQueries()).filter((r) => r.t >= from && ofTag(r, tag)).length;
}

/** Waits until a check on the tag's counts holds (true) or the time is up (false). */
export function waitSeen(lab: Lab, tag: string, check: (s: Seen) => boolean, timeoutMs = 10_000, from = 0): Promise<boolean> {
  return waitUntil(async () => check(await seenNow(lab, tag, from)), timeoutMs, 50);
}

/** Installs per-source ICMP echo-request counters in the internet host's namespace. */
export async function installIcmpCounters(lab: Lab): Promise<void> {
  const a = lab.addr;
  await execIn(lab.ns.internet, ['nft', '-f', '-'], `table inet kslt_icmp {
  counter tunnel4 {}
  counter tunnel6 {}
  counter client4 {}
  counter client6 {}
  chain in {
    type filter hook input priority filter; policy accept;
    icmp type echo-request ip saddr ${a.vpnPublic4} counter name "tunnel4"
    icmpv6 type echo-request ip6 saddr ${a.vpnPublic6} counter name "tunnel6"
    icmp type echo-request ip saddr ${a.client4} counter name "client4"
    icmpv6 type echo-request ip6 saddr ${a.client6} counter name "client6"
  }
}
`);
}

/** The internet host's echo-request counters by origin. */
export async function icmpCounts(lab: Lab): Promise<Record<'tunnel4' | 'tunnel6' | 'client4' | 'client6', number>> {
  return nftCounters(await execIn(lab.ns.internet, ['nft', '-j', 'list', 'counters', 'table', 'inet', 'kslt_icmp'])) as Record<'tunnel4' | 'tunnel6' | 'client4' | 'client6', number>;
}

/** Named counters' packet counts from `nft -j list counters` output (pure). */
export function nftCounters(json: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (JSON.parse(json) as { nftables?: Array<{ counter?: { name: string; packets: number } }> }).nftables ?? []) {
    if (item.counter) out[item.counter.name] = item.counter.packets;
  }
  return out;
}

/** The ksapp table's counters in the client namespace ({} when there is no table). */
export async function ksappCounters(lab: Lab): Promise<Record<string, number>> {
  try {
    return nftCounters(await execIn(lab.ns.client, ['nft', '-j', 'list', 'counters', 'table', 'inet', 'ksapp']));
  } catch {
    return {};
  }
}

/** The listener fixture's log: what reached the protected server. */
export async function listenerLog(file: string): Promise<Array<{ proto?: string; src?: string; ready?: boolean; data?: string }>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { proto?: string; src?: string });
}

/**
 * Removes what a SIGKILLed ksapp left: kills the app's group (cgroup.kill),
 * removes the groups, and the table and ip rules in the client namespace.
 */
export async function cleanupAfterCrash(lab: Lab, parentDir: string): Promise<void> {
  const children = await readdir(parentDir, { withFileTypes: true }).catch(() => []);
  for (const d of children.filter((e) => e.isDirectory())) {
    const dir = path.join(parentDir, d.name);
    await writeFile(path.join(dir, 'cgroup.kill'), '1').catch(() => undefined);
    await waitUntil(async () => !/populated 1/.test(await readFile(path.join(dir, 'cgroup.events'), 'utf8').catch(() => '')), 5000);
    await rmdir(dir).catch(() => undefined);
  }
  await rmdir(parentDir).catch(() => undefined);
  await sweepStaleLocks(); // the dead daemon's netns and cgroup-parent locks
  // The dead ksapp's tunnel monitor (`ip monitor`) lives on in the namespace; end it by pid.
  for (const pid of (await runTool('ip', ['netns', 'pids', lab.ns.client]).catch(() => '')).split('\n').map(Number).filter((n) => n > 0)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.startsWith('ip\0-o\0monitor\0')) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    }
  }
  await execIn(lab.ns.client, ['nft', 'delete', 'table', 'inet', 'ksapp']).catch(() => undefined);
  for (const family of ['-4', '-6']) {
    for (let i = 0; i < 5; i++) {
      const ok = await execIn(lab.ns.client, ['ip', family, 'rule', 'del', 'priority', '27507']).then(() => true, () => false);
      if (!ok) break;
    }
    await execIn(lab.ns.client, ['ip', family, 'route', 'flush', 'table', '27507']).catch(() => undefined);
  }
}
