import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Lab } from '../lab/index.js';

/** What a ksapp config for a lab holds beyond the tunnel and its resolvers. */
export interface LabConfigOptions {
  readonly cgroupParent: string;
  /** Probe the VPN server's tunnel address (300 ms × 3), for silent failures. */
  readonly probe?: boolean;
  /** More YAML lines (e.g. `apps:`). */
  readonly extra?: readonly string[];
}

/** Writes a ksapp config for the lab's tunnel into the lab's directory and returns its path. */
export async function writeLabConfig(lab: Lab, name: string, o: LabConfigOptions): Promise<string> {
  const file = path.join(lab.dir, `${name}.yaml`);
  await writeFile(file, [
    'tunnel:', `  interface: ${lab.tunnel.clientIface}`,
    ...(o.probe ? [`  probe: { address: ${lab.tunnel.server4}, interval: 300ms, failures: 3 }`] : []),
    `dns: { servers: [${lab.tunnel.server4}, "${lab.tunnel.server6}"] }`,
    `cgroupParent: ${o.cgroupParent}`, ...(o.extra ?? []), '',
  ].join('\n'));
  return file;
}

/** The `tunnels:` lines for a lab's second tunnel (probe and resolver like the first's); none in a one-tunnel lab. */
export function secondTunnelLines(lab: Pick<Lab, 'tunnel2'>): string[] {
  const t = lab.tunnel2;
  if (!t) return [];
  return ['tunnels:', `  - interface: ${t.clientIface}`, `    probe: { address: ${t.server4}, interval: 300ms, failures: 3 }`, `    dns: [${t.server4}, "${t.server6}"]`];
}
