import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Cgroup, cgroupLevel, cgroupRoot, nftCgroupPath } from '../../cgroups/index.js';
import { checkCgroupMatchSupport } from '../firewall/index.js';
import { localDnsBypasses } from '../launch/index.js';
import { ExecGuard } from '../adopt/exec-guard.js';
import { loadAddon } from '../native/load.js';
import { runTool, tools } from '../tools.js';

/** How to build the native addons: in a clone, or in a package installed with npm. */
const BUILD_ADDONS = 'npm run build in a clone; sudo npm rebuild -g ksapp for an installed package (it names what is missing)';

/** One prerequisite and what to do when it is missing. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** What was found. */
  readonly detail: string;
  /** How to get it, when not ok. */
  readonly fix?: string;
  /** Needed only for `ksapp demo` and the tests, not for protecting apps. */
  readonly optional?: boolean;
}

const APT = (pkg: string): string => `apt-get install -y ${pkg}`;

async function toolVersion(name: string, file: string, args: string[], pkg: string, optional = false): Promise<CheckResult> {
  try {
    const out = await runTool(file, args);
    return { name, ok: true, detail: out.split('\n')[0]?.trim() || 'present', optional };
  } catch {
    return { name, ok: false, detail: `${file} not found or not working`, fix: APT(pkg), optional };
  }
}

/** Runs every prerequisite check; never throws. */
export async function runChecks(): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const root = process.getuid?.() === 0;
  results.push({ name: 'root', ok: root, detail: root ? 'running as root' : `running as uid ${process.getuid?.()}`, fix: 'run ksapp with sudo' });
  results.push(await toolVersion('nft', tools.nft, ['--version'], 'nftables'));
  results.push(await toolVersion('ip', tools.ip, ['-V'], 'iproute2'));
  results.push(await toolVersion('wg', tools.wg, ['--version'], 'wireguard-tools'));
  results.push(await toolVersion('unshare/setpriv/nsenter', 'setpriv', ['--version'], 'util-linux'));
  results.push({ ...(await toolVersion('conntrack', tools.conntrack, ['--version'], 'conntrack')), optional: true,
    detail: 'lets flows of adopted apps move into the tunnel (without it they stay blocked, never leaked)' });
  results.push({
    name: 'wireguard-go', ok: existsSync('/usr/bin/wireguard-go') || existsSync('/usr/local/bin/wireguard-go'),
    detail: 'userspace WireGuard for `ksapp demo` and the tests', fix: APT('wireguard-go'), optional: true,
  });
  results.push({ name: '/dev/net/tun', ok: existsSync('/dev/net/tun'), detail: 'needed by wireguard-go', fix: 'modprobe tun', optional: true });
  const bypass = localDnsBypasses();
  results.push({
    name: 'local resolvers', ok: bypass.length === 0, optional: true,
    detail: bypass.length === 0 ? 'no local resolver socket that lookups of adopted apps would go around the tunnel through'
      : `lookups of adopted apps and of non-root \`ksapp run\` go through ${bypass.join(' and ')}, outside the tunnel`,
    fix: 'start sensitive apps with `sudo ksapp run` (their lookups stay in the tunnel), or remove resolve from hosts: in /etc/nsswitch.conf',
  });
  results.push(...(await containerChecks()));
  results.push(...(await adoptionChecks()));
  results.push(...(await cgroupChecks(root)));
  return results;
}

/** The container runtimes `protect --container` asks (optional: only containers need them); at least one should answer. */
async function containerChecks(): Promise<CheckResult[]> {
  const checks = await Promise.all([
    toolVersion('podman', tools.podman, ['--version'], 'podman', true),
    toolVersion('docker', tools.docker, ['--version'], 'docker.io', true),
  ]);
  return checks.map((c) => ({ ...c, detail: c.ok ? `${c.detail} (protect --container, match: { container })` : `${c.detail}: containers of this runtime cannot be protected` }));
}

async function cgroupChecks(root: boolean): Promise<CheckResult[]> {
  let mount: string;
  try {
    mount = await cgroupRoot();
  } catch (error) {
    return [{ name: 'cgroup2 mount', ok: false, detail: (error as Error).message, fix: 'mount -t cgroup2 none /sys/fs/cgroup (or boot with systemd.unified_cgroup_hierarchy=1)' }];
  }
  const results: CheckResult[] = [{ name: 'cgroup2 mount', ok: true, detail: mount }];
  if (!root) {
    return [...results, { name: 'cgroup freeze/kill, nft cgroup match', ok: false, detail: 'not checked: needs root', fix: 'run `sudo ksapp doctor`' }];
  }
  // A throwaway group proves freeze, kill and the nft cgroup match on this very machine.
  const probe = await Cgroup.create(path.join(mount, `ksapp-doctor-${process.pid}`)).catch((e: Error) => e);
  if (probe instanceof Error) return [...results, { name: 'cgroup create', ok: false, detail: probe.message, fix: 'check that cgroup2 is mounted read-write' }];
  try {
    const files = ['cgroup.freeze', 'cgroup.kill'].map((f) => ({ f, ok: existsSync(path.join(probe.path, f)) }));
    for (const { f, ok } of files) results.push({ name: f, ok, detail: ok ? 'present' : 'missing', fix: 'upgrade to Linux ≥ 5.14' });
    try {
      await checkCgroupMatchSupport(nftCgroupPath(mount, probe.path), cgroupLevel(mount, probe.path));
      results.push({ name: 'nft socket cgroupv2', ok: true, detail: 'nftables matches packets by cgroup' });
    } catch (error) {
      results.push({ name: 'nft socket cgroupv2', ok: false, detail: (error as Error).message, fix: 'install a current nftables and a kernel with CONFIG_NFT_SOCKET' });
    }
  } finally {
    await probe.remove().catch(() => undefined);
  }
  return results;
}

type ProcEvents = { open(cb: () => void): unknown; close(handle: unknown): void };

/** What adopting running apps relies on: marking their old sockets, and seeing new instances at exec. */
async function adoptionChecks(): Promise<CheckResult[]> {
  const ptraceScope = (await readFile('/proc/sys/kernel/yama/ptrace_scope', 'utf8').catch(() => '0')).trim();
  const marking: CheckResult = loadAddon('sockmark') === undefined
    ? { name: 'socket marking', ok: false, optional: true, detail: 'the sockmark addon is not built', fix: BUILD_ADDONS }
    : ptraceScope === '3'
      ? { name: 'socket marking', ok: false, optional: true, detail: 'kernel.yama.ptrace_scope is 3: not even root may take a socket of an adopted app (pidfd_getfd), so apps holding UDP sockets from before their adoption stay frozen (needs-restart)', fix: 'boot with kernel.yama.ptrace_scope ≤ 2 (3 cannot be lowered at run time)' }
      : { name: 'socket marking', ok: true, optional: true, detail: 'UDP, raw and listening sockets opened before an adoption get the app\'s mark (pidfd_getfd + SO_MARK)' };
  const addon = loadAddon<ProcEvents>('procevents');
  let events: CheckResult;
  if (addon === undefined) events = { name: 'exec events', ok: false, optional: true, detail: 'the procevents addon is not built: config rules scan /proc every 100 ms', fix: BUILD_ADDONS };
  else {
    try {
      addon.close(addon.open(() => undefined));
      events = { name: 'exec events', ok: true, optional: true, detail: 'config rules see new instances at exec (process-events connector)' };
    } catch (error) {
      events = { name: 'exec events', ok: false, optional: true, detail: `process-events connector unavailable (${(error as Error).message}): config rules scan /proc every 100 ms instead`, fix: 'run the daemon as root in the first network namespace' };
    }
  }
  return [marking, events, execGuardCheck()];
}

/** Whether config rules naming an exe can be confined at exec (fanotify permission events). */
function execGuardCheck(): CheckResult {
  const name = 'exec guard';
  try {
    // /dev/null stands in for a staging group: this only proves the kernel and the addon are there.
    ExecGuard.open('/dev/null', '/').close();
    return { name, ok: true, detail: 'config rules naming an exe are confined at exec, before the first instruction (fanotify FAN_OPEN_EXEC_PERM); `ksapp status --json` lists each rule under `rules`' };
  } catch (error) {
    return { name, ok: false, detail: `${(error as Error).message}: new instances of config apps run unprotected until adopted (exec events or the /proc scan)`, fix: (error as { hint?: string }).hint || BUILD_ADDONS };
  }
}
