// What the e2e tests read of a lab's daemon and internet host: the status, one app, one sender's packets.
import { tally, type Tally } from '../../src/demo/classify.js';
import type { AppStatus, Status } from '../../src/ipc/protocol.js';
import type { Lab } from '../../src/lab/index.js';
import { ksappIn } from './ksapp.js';

/** `ksapp status --json` of the lab's daemon; throws with its stderr when it fails. */
export async function statusIn(lab: Lab): Promise<Status> {
  const res = await ksappIn(lab, ['status', '--json']);
  if (res.exitCode !== 0) throw new Error(String(res.stderr));
  return JSON.parse(String(res.stdout)) as Status;
}

/** One app of the lab's daemon, undefined when it has none of that name. */
export async function appIn(lab: Lab, name: string): Promise<AppStatus | undefined> {
  return (await statusIn(lab)).apps.find((a) => a.name === name);
}

/** The tag a sender named `name` puts in its packets (unique to the lab). */
export function tagIn(lab: Lab, name: string): string {
  return `ks${name}${lab.suffix}`;
}

/** What the internet host saw of that sender since `from`. */
export async function seenIn(lab: Lab, name: string, from = 0): Promise<Tally> {
  return tally(await lab.received(), lab, tagIn(lab, name), from);
}
