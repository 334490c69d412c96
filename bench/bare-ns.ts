// A bare network namespace with a plain tun device as the "tunnel": the reaction and
// scale figures need a tunnel that can be deleted and re-created hundreds of times, and
// re-creating a tun (socat holds it open, so it has carrier) takes milliseconds where a
// WireGuard handshake takes far longer. ksapp's monitor watches tun devices as tunnels.
import { execa, type ResultPromise } from 'execa';
import { addNamespace, nsenterArgs } from '../src/lab/netns.js';
import { runTool } from '../src/tools.js';
import { deleteNamespaceSync, onCleanup, signalPid } from './cleanup.js';

/** The tunnel address the tun device gets (a documentation-free private range only this namespace uses). */
export const TUN_ADDR = '10.77.0.2/24';
/** A second tun's address, in a subnet of its own (the failover section's second tunnel). */
export const TUN2_ADDR = '10.78.0.2/24';

/** A bare namespace of this run, removed by the cleanup registry. */
export interface BareNs {
  readonly name: string;
  /** Argv prefix running a command inside it (cgroup2 stays visible). */
  readonly enter: string[];
  /** Deletes it now (its processes must already be gone). */
  destroy(): Promise<void>;
}

/** Creates `ksb-SUFFIX-ROLE` with loopback up. */
export async function createBareNs(suffix: string, role: string): Promise<BareNs> {
  const name = `ksb-${suffix}-${role}`;
  await addNamespace(name);
  const destroy = onCleanup(`namespace ${name}`, () => deleteNamespaceSync(name), () => deleteNamespaceSync(name));
  return { name, enter: nsenterArgs(name), destroy };
}

/** A tun device held open by socat; deleting it ends that socat, start() makes a new one. */
export class Tun {
  private proc: ResultPromise | undefined;

  constructor(readonly ns: BareNs, readonly iface: string, readonly addr = TUN_ADDR) {}

  /** Creates the device (address, up, carrier) and waits until the kernel shows it up. */
  async start(): Promise<void> {
    this.stopSync();
    const argv = [...this.ns.enter, 'socat', '-u', `TUN:${this.addr},tun-name=${this.iface},tun-type=tun,iff-up,iff-no-pi`, 'OPEN:/dev/null'];
    const proc = execa(argv[0]!, argv.slice(1), { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', buffer: false });
    this.proc = proc;
    const pid = proc.pid;
    const undo = onCleanup(`socat ${pid}`, () => signalPid(pid, 'SIGKILL'), () => signalPid(pid, 'SIGKILL'));
    void proc.then(() => void undo());
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 2))) {
      if (await this.isUp()) return;
    }
    throw new Error(`tun ${this.iface} did not come up in ${this.ns.name}`);
  }

  /** Whether the device exists with UP and LOWER_UP. */
  async isUp(): Promise<boolean> {
    const out = await runTool('ip', ['-n', this.ns.name, '-o', 'link', 'show', this.iface]).catch(() => '');
    return /[<,]UP[,>]/.test(out) && out.includes('LOWER_UP');
  }

  /** Ends the socat holding the device (the device goes with it). */
  stopSync(): void {
    signalPid(this.proc?.pid, 'SIGKILL');
    this.proc = undefined;
  }
}

/** A long-running `ip -n NS -force -batch -`: a fault is one line written to it, with no process start in the way. */
export class IpBatch {
  private readonly proc: ResultPromise;
  private readonly undo: () => Promise<void>;

  constructor(ns: string) {
    const proc = execa('ip', ['-n', ns, '-force', '-batch', '-'], { reject: false, stdin: 'pipe', stdout: 'ignore', stderr: 'ignore', buffer: false });
    this.proc = proc;
    const pid = proc.pid;
    this.undo = onCleanup(`ip batch ${pid}`, async () => { proc.stdin?.end(); await proc; }, () => signalPid(pid, 'SIGKILL'));
  }

  /** Sends one `ip` command line (executed at once). */
  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  /** Closes stdin (ip exits) and waits for it. */
  close(): Promise<void> {
    return this.undo();
  }
}
