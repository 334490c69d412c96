import type { Lab } from '../lab/index.js';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Polls a condition until it holds or the time is up; resolves to whether it held. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(stepMs);
  }
}

/** The `frozen` and `populated` flags of a cgroup, or undefined when it is gone. */
export async function groupFlags(cgroupPath: string): Promise<{ frozen: boolean; populated: boolean } | undefined> {
  try {
    const text = await readFile(`${cgroupPath}/cgroup.events`, 'utf8');
    return { frozen: /frozen 1/.test(text), populated: /populated 1/.test(text) };
  } catch {
    return undefined;
  }
}

/** Whether table `inet ksapp` exists in the lab's client namespace. */
export function tableExists(lab: Pick<Lab, 'exec'>): Promise<boolean> {
  return lab.exec('client', ['nft', 'list', 'table', 'inet', 'ksapp']).then(() => true, () => false);
}
