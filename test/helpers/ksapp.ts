import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { CLI_PATH } from '../../src/demo/ksapp-process.js';
import type { Lab } from '../../src/lab/index.js';

/** Writes a config for ksapp in the lab's client namespace and returns its path. */
export async function labConfig(lab: Lab, name: string, extra = ''): Promise<string> {
  const file = path.join(lab.dir, `${name}.yaml`);
  await writeFile(file, [
    'tunnel:', `  interface: ${lab.tunnel.clientIface}`,
    `dns: { servers: [${lab.tunnel.server4}, "${lab.tunnel.server6}"] }`,
    `cgroupParent: ksapp-t-${lab.suffix}`, extra,
  ].join('\n'));
  return file;
}

/** Runs the ksapp CLI inside the lab's client namespace. */
export function ksappIn(lab: Lab, args: readonly string[], options: Options = {}) {
  const argv = [...lab.nsenterArgs('client'), process.execPath, CLI_PATH, ...args];
  return execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', ...options });
}

/** Whether table inet ksapp exists in the lab's client namespace. */
export function tableExists(lab: Lab): Promise<boolean> {
  return lab.exec('client', ['nft', 'list', 'table', 'inet', 'ksapp']).then(() => true, () => false);
}
