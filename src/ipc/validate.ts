import { appNameProblem } from '../app-name.js';
import { isHostEntry } from '../config/hosts.js';
import { ifaceNameProblem } from '../iface-name.js';
import type { Request } from './protocol.js';

/** Why a request line was refused before it reached the daemon's logic. */
export class RequestError extends Error {
  constructor(message: string, readonly id: number = 0) {
    super(message);
  }
}

const POLICIES = new Set(['freeze', 'kill', 'block']);
const ALLOWED: Record<string, readonly string[]> = {
  status: [], subscribe: ['status'],
  register: ['name', 'onDrop', 'allowLan', 'restart', 'uid', 'command', 'cwd', 'tunnels'],
  freeze: ['name'], thaw: ['name'], kill: ['name'], release: ['name'], start: ['name'], enter: ['name', 'pid'],
  protect: ['pid', 'exe', 'unit', 'cgroup', 'container', 'iface', 'hosts', 'name', 'onDrop', 'tunnels'],
};

/** Parses and schema-checks one request line (pure); throws RequestError naming the problem. */
export function parseRequest(line: string): Request {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RequestError('request is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RequestError('request must be a JSON object');
  const r = value as Record<string, unknown>;
  const id = r.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new RequestError('request needs a numeric "id"');
  const op = r.op;
  if (typeof op !== 'string' || !(op in ALLOWED)) throw new RequestError(`unknown op ${JSON.stringify(op)}`, id);
  for (const key of Object.keys(r)) {
    if (key !== 'id' && key !== 'op' && !ALLOWED[op]!.includes(key)) throw new RequestError(`unknown field "${key}" for ${op}`, id);
  }
  const check = (ok: boolean, what: string): void => { if (!ok) throw new RequestError(`${op}: ${what}`, id); };
  if (r.name !== undefined || ['freeze', 'thaw', 'kill', 'release', 'start', 'enter'].includes(op)) {
    const problem = appNameProblem(r.name);
    check(problem === undefined, `name ${problem}`);
  }
  if (op === 'register' || op === 'protect') {
    check(r.onDrop === undefined || POLICIES.has(r.onDrop as string), 'onDrop must be freeze, kill or block');
    const t = r.tunnels;
    check(t === undefined || (Array.isArray(t) && t.length >= 1 && t.length <= 16 && t.every((x) => typeof x === 'string' && ifaceNameProblem(x) === undefined)
      && new Set(t).size === t.length), 'tunnels must be 1 to 16 distinct interface names');
  }
  if (op === 'register') {
    check(r.allowLan === undefined || typeof r.allowLan === 'boolean', 'allowLan must be a boolean');
    check(r.restart === undefined || typeof r.restart === 'boolean', 'restart must be a boolean');
    check(r.uid === undefined || (Number.isSafeInteger(r.uid) && (r.uid as number) >= 0), 'uid must be a non-negative integer');
    check(r.command === undefined || (Array.isArray(r.command) && r.command.length <= 4096 && r.command.every((a) => typeof a === 'string')), 'command must be a list of strings');
    check(r.cwd === undefined || typeof r.cwd === 'string', 'cwd must be a string');
  }
  if (op === 'subscribe') check(r.status === undefined || typeof r.status === 'boolean', 'status must be a boolean');
  if (op === 'enter') check(Number.isSafeInteger(r.pid) && (r.pid as number) > 1, 'pid must be an integer above 1');
  if (op === 'protect') {
    const targets = ['pid', 'exe', 'unit', 'cgroup', 'container', 'iface'].filter((k) => r[k] !== undefined);
    // An interface may come with its VM's group (unit or cgroup): the group is what the kill switch acts on.
    const ifaceWithGroup = r.iface !== undefined && targets.length === 2 && (r.unit !== undefined || r.cgroup !== undefined);
    check(targets.length === 1 || ifaceWithGroup, 'give exactly one of pid, exe, unit, cgroup, container, iface (iface may add unit or cgroup)');
    for (const k of ['container', 'iface']) check(r[k] === undefined || (typeof r[k] === 'string' && (r[k] as string).length <= 256), `${k} must be a string`);
    const hosts = r.hosts;
    check(hosts === undefined || (r.iface !== undefined && Array.isArray(hosts) && hosts.length <= 256 && hosts.every((h) => typeof h === 'string' && isHostEntry(h))),
      'hosts must go with iface, as up to 256 addresses, ranges or MACs');
    check(r.pid === undefined || (Number.isSafeInteger(r.pid) && (r.pid as number) > 0), 'pid must be a positive integer');
    for (const k of ['exe', 'unit', 'cgroup']) check(r[k] === undefined || (typeof r[k] === 'string' && (r[k] as string).length <= 4096), `${k} must be a string`);
  }
  return r as unknown as Request;
}
