import { appNameProblem } from '../app-name.js';
import { containerRefProblem } from '../adopt/container.js';
import { unitNameProblem } from '../adopt/unit.js';
import { hostName } from './allow.js';
import { isHostEntry } from './hosts.js';
import { ifaceNameProblem } from '../iface-name.js';
import { argv, type FieldsOf } from './fields.js';
import { isPrivateRange, LAN_RANGES, parseCidr } from './ip.js';
import { bool, cidr, duration, ipLiteral, list, matching, object, oneOf, str, type ScalarSchema, type Schema } from './schema.js';
import { appTunnels, tunnel, tunnels } from './tunnel-schema.js';
import { checkTunnels } from './tunnels.js';
import type { AppConfig, Config, DnsConfig, GatewayConfig, HookConfig, LanConfig, MatchRule } from './types.js';
import { DEFAULT_CGROUP_PARENT, DEFAULT_HOOK_TIMEOUT_MS, HOOK_EVENTS, ON_DROP_VALUES } from './types.js';

// Each segment starts with a letter, digit or "_": no "..", no hidden or empty segments, no leading "/".
const CGROUP_PATH = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}(?:\/[A-Za-z0-9_][A-Za-z0-9._-]{0,254})*$/;
const USER = /^(?:\d{1,10}|[A-Za-z_][A-Za-z0-9._-]{0,31}\$?)$/;

/** A user name or numeric uid; a uid written as a YAML number is kept as its text. */
const user = str((s) => (USER.test(s) ? undefined : `must be a user name or a numeric uid (got ${JSON.stringify(s)})`), { fromNumbers: true });

const lan = object({
  allow: { schema: bool, default: false },
  ranges: {
    schema: list(cidr(isPrivateRange, 'must be a private, link-local, ULA or multicast range')),
    default: [...LAN_RANGES],
  },
} satisfies FieldsOf<LanConfig>);

const match = object(
  {
    exe: { schema: str((s) => (s.startsWith('/') ? undefined : `must be an absolute path (got ${JSON.stringify(s)})`)) },
    name: { schema: str((s) => (s === '' ? 'must not be empty' : undefined)) },
    user: { schema: user },
    // A systemd unit started confined: `ksapp setup` gives it a drop-in whose ExecStartPre protects its group.
    unit: { schema: str((s) => unitNameProblem(s)) },
    // A Podman or Docker container, protected whenever it runs (`protect --container`).
    container: { schema: str((s) => containerRefProblem(s)) },
  } satisfies FieldsOf<MatchRule>,
  (value, report) => {
    // An empty rule would match every process on the machine.
    if (Object.keys(value).length === 0) report('', 'must set at least one of exe, name, user, or a unit or container');
    if (value.unit !== undefined && Object.keys(value).length > 1) report('.unit', 'stands alone: a unit is confined as a whole, not by exe, name or user');
    if (value.container !== undefined && Object.keys(value).length > 1) report('.container', 'stands alone: a container is protected as a whole, not by exe, name or user');
  },
);

/**
 * One allowlist entry: an address or range with no host bits, never a whole
 * address family (that is not an allowlist), or a host name the daemon
 * resolves (its addresses are allowed while the record lives).
 */
const allowEntry: ScalarSchema = (() => {
  const range = cidr((text) => !text.endsWith('/0'), 'must not be a whole address family: 0.0.0.0/0 and ::/0 are not an allowlist');
  return {
    ...range,
    expected: 'an address, a CIDR range or a host name',
    parse(value, source) {
      if (typeof value === 'string' && parseCidr(value) === undefined && !/^[0-9a-fA-F.:/]+$/.test(value)) {
        const name = hostName(value);
        if (name !== undefined) return { ok: true, value: name };
        return { ok: false, message: `must be an address, a CIDR range such as 10.20.0.0/16, or a host name such as intranet.example.com (got ${JSON.stringify(value)})` };
      }
      return range.parse(value, source);
    },
  };
})();
const allowList = list(allowEntry);

const app = object(
  {
    name: { schema: str(appNameProblem), required: true },
    match: { schema: match },
    command: { schema: argv },
    onDrop: { schema: oneOf(ON_DROP_VALUES), default: 'freeze' },
    restart: { schema: bool, default: false },
    allowLan: { schema: bool },
    user: { schema: user },
    tunnel: { schema: appTunnels },
    failback: { schema: bool, default: true },
    allow: { schema: allowList },
  } satisfies FieldsOf<Omit<AppConfig, 'at'>>,
  (value, report) => {
    if (value['match'] === undefined && value['command'] === undefined) report('', 'needs "match" (to adopt it when seen running) or "command" (to start it), or both');
    const onDrop = value['onDrop'];
    if (value['restart'] === true && typeof onDrop === 'string' && onDrop !== 'kill') report('.restart', `only applies with onDrop: kill (onDrop is ${onDrop})`);
  },
);

const apps = list(app, {
  check: (items, report) => {
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      const name = (item as { name?: unknown }).name;
      if (typeof name !== 'string') return;
      const seen = first.get(name);
      if (seen === undefined) first.set(name, i);
      else report(`[${i}].name`, `duplicates apps[${seen}].name (got ${JSON.stringify(name)}); app names must be unique`);
    });
  },
});

const hooks = list(object({
  on: { schema: list(oneOf(HOOK_EVENTS), { minItems: 1 }), required: true },
  run: { schema: argv, required: true },
  user: { schema: user, default: 'nobody' },
  timeout: { schema: duration, default: DEFAULT_HOOK_TIMEOUT_MS },
} satisfies FieldsOf<HookConfig>));

const gateway = list(object({
  lan: { schema: str((s) => ifaceNameProblem(s)), required: true },
  hosts: { schema: list(str((s) => (isHostEntry(s.toLowerCase()) ? undefined : `must be an address, a range with no host bits, or a MAC (got ${JSON.stringify(s)})`))), default: [] },
  name: { schema: str(appNameProblem) },
  tunnel: { schema: appTunnels },
} satisfies FieldsOf<GatewayConfig>), { single: true });

/** The schema of the whole config file (design.md, section "Config file"). */
export const configSchema: Schema = object({
  // Neither has a default: which one names the primary is decided after validation (tunnels.ts, primaryFirst).
  tunnel: { schema: tunnel },
  tunnels: { schema: tunnels },
  lan: { schema: lan, default: { allow: false, ranges: [...LAN_RANGES] } },
  dns: { schema: object({ servers: { schema: list(ipLiteral), default: [] } } satisfies FieldsOf<DnsConfig>), default: { servers: [] } },
  cgroupParent: {
    schema: matching(CGROUP_PATH, 'a relative cgroup path: segments of letters, digits, ".", "_" or "-", no "..", no leading "/"'),
    default: DEFAULT_CGROUP_PARENT,
  },
  apps: { schema: apps, default: [] },
  hooks: { schema: hooks, default: [] },
  allow: { schema: allowList, default: [] },
  gateway: { schema: gateway, default: [] },
} satisfies FieldsOf<Config>, checkTunnels);
