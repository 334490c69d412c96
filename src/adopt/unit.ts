// Groups protected where they are: a systemd unit's ControlGroup, or a cgroup path (a container's).
import { statSync } from 'node:fs';
import path from 'node:path/posix';
import { ToolError, runTool } from '../tools.js';
import { badInput, runtimeError } from './errors.js';

/** systemd unit names: letters, digits and `:-_.\@`, at most 255 characters, not starting with '-'. */
const UNIT_NAME = /^[A-Za-z0-9:_.\\@][A-Za-z0-9:_.\\@-]{0,254}$/;

/** Why `unit` is not a systemd unit name ksapp accepts, or undefined (pure; the one check for the CLI, socket and config). */
export function unitNameProblem(unit: string): string | undefined {
  if (!UNIT_NAME.test(unit)) return `must be a systemd unit name (letters, digits and :-_.\\@, at most 255) (got ${JSON.stringify(unit)})`;
  if (!/\.(service|scope)$/.test(unit)) return `must name a .service or .scope unit (got ${JSON.stringify(unit)})`;
  return undefined;
}

/** Parses `systemctl show -p A -p B` output (`Key=value` lines). */
export function parseShow(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}

/** Options of unitCgroup. */
export interface UnitOptions {
  /** The systemctl binary (default: systemctl, or KSAPP_SYSTEMCTL). */
  systemctl?: string;
  /** The cgroup2 mount. */
  root: string;
}

/** The absolute cgroup directory of a loaded, running systemd unit; ADOPT_UNIT_* errors say what is wrong. */
export async function unitCgroup(unit: string, options: UnitOptions): Promise<string> {
  if (!UNIT_NAME.test(unit)) {
    throw badInput('ADOPT_BAD_UNIT', `"${unit}" is not a systemd unit name`, 'give a unit name such as qbittorrent-nox.service');
  }
  const systemctl = options.systemctl ?? process.env.KSAPP_SYSTEMCTL ?? 'systemctl';
  let text: string;
  try {
    text = await runTool(systemctl, ['show', '-p', 'LoadState', '-p', 'ActiveState', '-p', 'ControlGroup', '--', unit]);
  } catch (error) {
    if (error instanceof ToolError && error.code === 'TOOL_MISSING') {
      throw badInput('ADOPT_NO_SYSTEMCTL', `cannot look up unit ${unit}: ${systemctl} is not installed`, 'this system does not use systemd; protect the app with --pid, --exe or --cgroup PATH instead', error);
    }
    throw runtimeError('ADOPT_SYSTEMCTL_FAILED', `cannot look up unit ${unit}: systemctl failed`, 'is systemd running (is PID 1 systemd)? otherwise use --pid, --exe or --cgroup PATH', error);
  }
  const show = parseShow(text);
  const load = show.get('LoadState') ?? '';
  if (load !== 'loaded') {
    throw badInput('ADOPT_UNIT_NOT_LOADED', `unit ${unit} is not loaded (LoadState=${load || 'unknown'})`, 'check the name with `systemctl list-units --all`');
  }
  const cg = show.get('ControlGroup') ?? '';
  if (cg === '') {
    throw badInput('ADOPT_UNIT_NOT_RUNNING', `unit ${unit} has no cgroup (ActiveState=${show.get('ActiveState') ?? 'unknown'})`, `start it first: systemctl start ${unit}`);
  }
  // ControlGroup is relative to the mount; `/` (the -.slice) becomes `.` so the root check names it.
  return resolveCgroupPath(cg.replace(/^\/+/, '') || '.', { root: options.root });
}

/** What resolveCgroupPath refuses besides bad paths. */
export interface CgroupPathOptions {
  /** The cgroup2 mount. */
  root: string;
  /** ksapp's own parent group (absolute), which holds the apps' groups and cannot be protected as one. */
  ksappParent?: string;
}

/**
 * Validates `--cgroup PATH`: absolute inside the cgroup2 mount, or relative to it; no `..`; an existing
 * group; not the root and not ksapp's own parent or a group inside it. Returns the absolute path.
 */
export function resolveCgroupPath(input: string, options: CgroupPathOptions): string {
  const root = path.normalize(options.root).replace(/(.)\/$/, '$1');
  if (input === '' || /[\0\n]/.test(input)) throw badInput('ADOPT_BAD_CGROUP_PATH', 'empty or malformed cgroup path', `give a group below ${root}`);
  if (input.split('/').includes('..')) {
    throw badInput('ADOPT_BAD_CGROUP_PATH', `cgroup path "${input}" contains "..", which is not allowed`, `give the group's path below ${root} without ".."`);
  }
  const abs = path.isAbsolute(input) ? path.normalize(input).replace(/(.)\/$/, '$1') : path.join(root, input);
  const rel = path.relative(root, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    const guess = path.join(root, input);
    throw badInput('ADOPT_BAD_CGROUP_PATH', `cgroup path ${input} is outside the cgroup2 mount ${root}`,
      `give it relative to the mount (e.g. ${input.replace(/^\/+/, '')}) or as ${guess}`);
  }
  if (rel === '') throw badInput('ADOPT_CGROUP_ROOT', 'refusing to protect the root cgroup: it holds every process on the system', 'give the group of one app or container');
  if (options.ksappParent !== undefined) {
    const fromParent = path.relative(options.ksappParent, abs);
    if (fromParent === '' || !(fromParent.startsWith('..') || path.isAbsolute(fromParent))) {
      throw badInput('ADOPT_CGROUP_KSAPP', `${abs} is ksapp's own group`, 'ksapp already manages the groups below it; give the group of another app or container');
    }
  }
  try {
    statSync(path.join(abs, 'cgroup.procs'));
  } catch (cause) {
    throw badInput('ADOPT_CGROUP_NOT_FOUND', `no cgroup ${abs}`, 'check the path (e.g. with `cat /proc/PID/cgroup` for a process in it)', cause);
  }
  return abs;
}
