// A real `ksapp daemon` in a bare namespace with a tun "tunnel", its cgroup parent and its files:
// what the daemon and flood sections both measure against. Everything is undone when the body ends,
// on an error too (and on Ctrl-C, through the cleanup stack).
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { IpBatch, TUN2_ADDR, Tun, createBareNs } from './bare-ns.js';
import { onCleanup, removeGroupSync } from './cleanup.js';
import { startDaemon, writeConfig, type DaemonHandle } from './daemon-proc.js';
import type { RunContext } from './reaction.js';

/** The running daemon and what drives its tunnel. */
export interface BareDaemon {
  readonly daemon: DaemonHandle;
  readonly tun: Tun;
  /** The second tunnel, when one was asked for. */
  readonly tun2?: Tun;
  /** A running `ip -batch` in the namespace: faults are written to it. */
  readonly batch: IpBatch;
  /** The namespace's enter argv (nsenter …). */
  readonly enter: readonly string[];
  /** The daemon's cgroup parent below the mount (`ksapp-b-SUFFIX-ROLE`). */
  readonly rel: string;
}

/** What a daemon may get beyond one tunnel with the default settings. */
export interface BareOptions {
  /** A second tun device (subnet 10.78.0.0/24), configured under `tunnels:`. */
  readonly second?: string;
  /** Lines added to each tunnel's entry in the config (e.g. `holdDown: 1ms`). */
  readonly tunnelLines?: readonly string[];
}

/** The daemon's config: the tun as the primary tunnel, the second one under `tunnels:` (pure). */
export function bareConfig(primary: string, rel: string, o: BareOptions = {}): string[] {
  const more = o.tunnelLines ?? [];
  return [
    'tunnel:', `  interface: ${primary}`, ...more.map((l) => `  ${l}`),
    ...(o.second ? ['tunnels:', `  - interface: ${o.second}`, '    dns: [10.78.0.1]', ...more.map((l) => `    ${l}`)] : []),
    'dns: { servers: [10.77.0.1] }', `cgroupParent: ${rel}`,
  ];
}

/** Starts the daemon (`role` names everything; `dir`, made by the caller, holds its socket and config) and runs `body`. */
export async function withBareDaemon<T>(ctx: RunContext, role: string, dir: string, tunName: string, body: (s: BareDaemon) => Promise<T>, o: BareOptions = {}): Promise<T> {
  const rel = `ksapp-b-${ctx.suffix}-${role}`;
  const parentDir = path.join(ctx.cgroupRoot, rel);
  const undoDir = onCleanup(`dir ${dir}`, () => rm(dir, { recursive: true, force: true }), () => rmSync(dir, { recursive: true, force: true }));
  const undoGroups = onCleanup(`cgroup ${parentDir}`, () => removeGroupSync(parentDir), () => removeGroupSync(parentDir));
  const ns = await createBareNs(ctx.suffix, role);
  const tun = new Tun(ns, tunName);
  const tun2 = o.second === undefined ? undefined : new Tun(ns, o.second, TUN2_ADDR);
  const batch = new IpBatch(ns.name);
  let daemon: DaemonHandle | undefined;
  try {
    await tun.start();
    await tun2?.start();
    const config = await writeConfig(dir, bareConfig(tun.iface, rel, o));
    daemon = await startDaemon(ns.enter, dir, config);
    return await body({ daemon, tun, ...(tun2 ? { tun2 } : {}), batch, enter: ns.enter, rel });
  } finally {
    await daemon?.stop();
    tun.stopSync();
    tun2?.stopSync();
    await batch.close();
    await undoGroups();
    await ns.destroy();
    await undoDir();
  }
}
