import { describeLeftOut } from '../adopt/index.js';
import { tunnelsOf, type Command } from '../cli/args.js';
import type { ProtectResult } from '../daemon/protect.js';
import { connectOrStart } from '../daemon/autostart.js';
import { DEFAULT_CONFIG_FILE } from '../config/index.js';
import { dropInFile, install, reloadSystemd } from './setup.js';
import { requireRoot } from './tunnel-check.js';
import { dnsBypassWarning } from '../launch/index.js';
import { socketPathFrom } from '../ipc/socket-path.js';

type ProtectCommand = Extract<Command, { kind: 'protect' }>;

/** Formats what protect did (pure). */
export function formatProtect(r: ProtectResult): string {
  const lines = [`${r.name}: ${r.moved ? `${r.moved} process(es) moved into ${r.cgroup}` : `protected in place at ${r.cgroup}`}` +
    (r.gone ? ` (${r.gone} exited meanwhile)` : '')];
  if (r.note) lines.push(`  ${r.note}`);
  const leftOut = r.leftOut ?? [];
  if (leftOut.length > 0) {
    lines.push(`  left out ${leftOut.length} process(es) that are not yours, where they were (ksapp freeze/kill of ${r.name} does not reach them): ${describeLeftOut(leftOut)}`);
  }
  for (const l of r.listenersClosed) lines.push(`  closed listening socket ${l}: the app accepts connections again once it reopens it`);
  for (const m of r.marked) lines.push(`  marked ${m}: opened before the adoption, it now carries the app's firewall mark (tunnel or nowhere)`);
  if (r.unprotected.length > 0) {
    lines.push(`${r.name} is NOT fully protected: it is frozen and marked needs-restart, because these sockets predate the adoption:`);
    for (const u of r.unprotected) lines.push(`  ${u}`);
    lines.push(`restart it to protect it: ksapp kill ${r.name}, then start it again (through ksapp run, or let a config rule adopt it)`);
  }
  const dns = dnsBypassWarning(r.name, r.dnsBypass);
  if (dns) lines.push(`warning: ${dns}`);
  return lines.join('\n');
}

/** --persist: the unit gets the drop-in that protects it at every start, as a config `match: { unit }` rule does. */
async function persistUnit(unit: string, name: string, cmd: ProtectCommand): Promise<void> {
  const root = process.env.KSAPP_SETUP_ROOT ?? '/';
  const say = (line: string): void => { process.stdout.write(`${line}\n`); };
  await install([dropInFile(root, cmd.config ?? DEFAULT_CONFIG_FILE, unit, name, cmd.onDrop)], false, say);
  await reloadSystemd(root, `${unit} starts confined from its next start on`, say);
}

/** `ksapp protect (--pid | --exe | --unit | --cgroup)`: exit 1 when the app could only be frozen, not protected. */
export async function protectCommand(cmd: ProtectCommand): Promise<number> {
  if (cmd.persist) requireRoot('protect --persist');
  // As `ksapp run` does: with no daemon answering, root starts one (it leaves once nothing is protected).
  const client = await connectOrStart({ socketPath: socketPathFrom(cmd.socket), configFile: cmd.config, tunnel: undefined, dns: [] });
  try {
    const result = await client.request<ProtectResult>({
      op: 'protect', pid: cmd.pid, exe: cmd.exe, unit: cmd.unit, cgroup: cmd.cgroup, container: cmd.container, iface: cmd.iface, name: cmd.name, onDrop: cmd.onDrop,
      ...(tunnelsOf(cmd) ? { tunnels: tunnelsOf(cmd) } : {}),
    });
    process.stdout.write(`${formatProtect(result)}\n`);
    if (cmd.persist && cmd.unit !== undefined) await persistUnit(cmd.unit, result.name, cmd);
    return result.unprotected.length > 0 ? 1 : 0;
  } finally {
    client.close();
  }
}

/** `ksapp gateway --lan IFACE [--host ADDR|CIDR|MAC]...`: the LAN hosts' routed traffic, confined like an app's, blocked while the tunnel is down. */
export async function gatewayCommand(cmd: Extract<Command, { kind: 'gateway' }>): Promise<number> {
  requireRoot('gateway');
  const client = await connectOrStart({ socketPath: socketPathFrom(cmd.socket), configFile: cmd.config, tunnel: undefined, dns: [] });
  try {
    const result = await client.request<ProtectResult>({
      op: 'protect', iface: cmd.lan, hosts: cmd.hosts, name: cmd.name, onDrop: 'block', ...(tunnelsOf(cmd) ? { tunnels: tunnelsOf(cmd) } : {}),
    });
    process.stdout.write(`${formatProtect(result)}\n`);
    return 0;
  } finally {
    client.close();
  }
}
