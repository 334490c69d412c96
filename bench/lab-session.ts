// The leak lab (four namespaces, a real wireguard-go tunnel) with a ksapp daemon running
// in its client namespace: shared by the start-up, overhead, silent-failure and stress
// sections. The daemon uses the default probe (500 ms × 3).
import path from 'node:path';
import { cgroupRoot } from '../cgroups/index.js';
import { createLab, type Lab } from '../src/lab/index.js';
import { onCleanup, removeGroupSync } from './cleanup.js';
import { startDaemon, writeConfig, type DaemonHandle } from './daemon-proc.js';

/** A lab with its daemon. */
export interface LabSession {
  readonly lab: Lab;
  readonly daemon: DaemonHandle;
  /** Absolute path of the daemon's app parent group. */
  readonly parentDir: string;
  /** Stops the daemon, removes leftover groups, destroys the lab. */
  close(): Promise<void>;
}

/** Builds the lab and starts the daemon; everything is registered for cleanup. */
export async function openLabSession(suffix: string): Promise<LabSession> {
  const lab = await createLab({ mode: 'app-only' });
  const undoLab = onCleanup(`lab ${lab.suffix}`, () => lab.destroy(), () => undefined); // the lab's own exit handler covers signals
  const rel = `ksapp-b-${suffix}-lab`;
  const parentDir = path.join(await cgroupRoot(), rel);
  const undoGroups = onCleanup(`cgroup ${parentDir}`, () => removeGroupSync(parentDir), () => removeGroupSync(parentDir));
  try {
    const config = await writeConfig(lab.dir, [
      'tunnel:', `  interface: ${lab.tunnel.clientIface}`, `  probe: { address: ${lab.tunnel.server4} }`,
      `dns: { servers: [${lab.tunnel.server4}, "${lab.tunnel.server6}"] }`, `cgroupParent: ${rel}`,
    ]);
    const daemon = await startDaemon(lab.nsenterArgs('client'), lab.dir, config);
    return {
      lab, daemon, parentDir,
      async close() {
        await daemon.stop();
        await undoGroups();
        await undoLab();
      },
    };
  } catch (error) {
    await undoGroups();
    await undoLab();
    throw error;
  }
}
