import { appNameProblem } from '../app-name.js';
import { ifaceNameProblem } from '../iface-name.js';
import { unitNameProblem } from '../adopt/unit.js';
import { isPrivateRange, LAN_RANGES } from './ip.js';
import { bool, cidr, duration, int, ipLiteral, list, matching, object, oneOf, str, type Field, type Schema } from './schema.js';
import type { AppConfig, Config, DnsConfig, LanConfig, MatchRule, ProbeConfig, TunnelConfig } from './types.js';
import {
  DEFAULT_CGROUP_PARENT, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_HOLD_DOWN_MS, DEFAULT_MAX_HOLD_DOWN_MS, DEFAULT_PROBE_FAILURES, DEFAULT_PROBE_INTERVAL_MS, ON_DROP_VALUES,
} from './types.js';

// Each segment starts with a letter, digit or "_": no "..", no hidden or empty segments, no leading "/".
const CGROUP_PATH = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}(?:\/[A-Za-z0-9_][A-Za-z0-9._-]{0,254})*$/;
const USER = /^(?:\d{1,10}|[A-Za-z_][A-Za-z0-9._-]{0,31}\$?)$/;

/**
 * The fields of a mapping, one for every key of the config type it yields: a
 * key the type has and the schema lacks, or the other way round, does not
 * compile, so the hand-written schema and the Config type cannot drift apart.
 */
type FieldsOf<T> = { readonly [K in keyof Required<T>]: Field };

/** A user name or numeric uid; a uid written as a YAML number is kept as its text. */
const user = str((s) => (USER.test(s) ? undefined : `must be a user name or a numeric uid (got ${JSON.stringify(s)})`), { fromNumbers: true });

const probe = object({
  address: { schema: ipLiteral, required: true },
  interval: { schema: duration, default: DEFAULT_PROBE_INTERVAL_MS },
  failures: { schema: int(1), default: DEFAULT_PROBE_FAILURES },
} satisfies FieldsOf<ProbeConfig>);

const tunnel = object(
  {
    interface: { schema: str(ifaceNameProblem) },
    handshakeTimeout: { schema: duration, default: DEFAULT_HANDSHAKE_TIMEOUT_MS },
    probe: { schema: probe },
    holdDown: { schema: duration, default: DEFAULT_HOLD_DOWN_MS },
    maxHoldDown: { schema: duration, default: DEFAULT_MAX_HOLD_DOWN_MS },
  } satisfies FieldsOf<TunnelConfig>,
  (value, report) => {
    const { holdDown, maxHoldDown } = value;
    if (typeof holdDown === 'number' && typeof maxHoldDown === 'number' && maxHoldDown < holdDown) {
      report('.maxHoldDown', `must be at least holdDown (${holdDown} ms), got ${maxHoldDown} ms`);
    }
  },
);

const TUNNEL_DEFAULTS = { handshakeTimeout: DEFAULT_HANDSHAKE_TIMEOUT_MS, holdDown: DEFAULT_HOLD_DOWN_MS, maxHoldDown: DEFAULT_MAX_HOLD_DOWN_MS };

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
  } satisfies FieldsOf<MatchRule>,
  (value, report) => {
    // An empty rule would match every process on the machine.
    if (Object.keys(value).length === 0) report('', 'must set at least one of exe, name, user, or a unit');
    if (value.unit !== undefined && Object.keys(value).length > 1) report('.unit', 'stands alone: a unit is confined as a whole, not by exe, name or user');
  },
);

const app = object(
  {
    name: { schema: str(appNameProblem), required: true },
    match: { schema: match },
    command: {
      schema: list(str(undefined, { fromNumbers: true }), {
        minItems: 1,
        check: (argv, report) => {
          if (argv[0] === '') report('[0]', 'must not be empty (it is the program to run)');
        },
      }),
    },
    onDrop: { schema: oneOf(ON_DROP_VALUES), default: 'freeze' },
    restart: { schema: bool, default: false },
    allowLan: { schema: bool },
    user: { schema: user },
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

/** The schema of the whole config file (design.md, section "Config file"). */
export const configSchema: Schema = object({
  tunnel: { schema: tunnel, default: TUNNEL_DEFAULTS },
  lan: { schema: lan, default: { allow: false, ranges: [...LAN_RANGES] } },
  dns: { schema: object({ servers: { schema: list(ipLiteral), default: [] } } satisfies FieldsOf<DnsConfig>), default: { servers: [] } },
  cgroupParent: {
    schema: matching(CGROUP_PATH, 'a relative cgroup path: segments of letters, digits, ".", "_" or "-", no "..", no leading "/"'),
    default: DEFAULT_CGROUP_PARENT,
  },
  apps: { schema: apps, default: [] },
} satisfies FieldsOf<Config>);
