import { ifaceNameProblem } from '../iface-name.js';
import { argv, type FieldsOf } from './fields.js';
import { duration, int, ipLiteral, list, object, str, type ObjectSchema, type ScalarSchema } from './schema.js';
import type { ProbeConfig, ReconnectConfig, TunnelConfig } from './types.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_HOLD_DOWN_MS, DEFAULT_MAX_HOLD_DOWN_MS, DEFAULT_PROBE_FAILURES, DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_RECONNECT_EVERY_MS, DEFAULT_RECONNECT_TIMEOUT_MS,
} from './types.js';

/** An interface name that refers to a tunnel (`via`, an app's `tunnel`). */
const tunnelName: ScalarSchema = { ...str(ifaceNameProblem), expected: 'an interface name' };

const probe = object({
  address: { schema: ipLiteral, required: true },
  interval: { schema: duration, default: DEFAULT_PROBE_INTERVAL_MS },
  failures: { schema: int(1), default: DEFAULT_PROBE_FAILURES },
} satisfies FieldsOf<ProbeConfig>);

const reconnect = object({
  command: { schema: argv, required: true },
  every: { schema: duration, default: DEFAULT_RECONNECT_EVERY_MS },
  timeout: { schema: duration, default: DEFAULT_RECONNECT_TIMEOUT_MS },
} satisfies FieldsOf<ReconnectConfig>);

const fields = {
  interface: { schema: str(ifaceNameProblem) },
  handshakeTimeout: { schema: duration, default: DEFAULT_HANDSHAKE_TIMEOUT_MS },
  probe: { schema: probe },
  holdDown: { schema: duration, default: DEFAULT_HOLD_DOWN_MS },
  maxHoldDown: { schema: duration, default: DEFAULT_MAX_HOLD_DOWN_MS },
  dns: { schema: list(ipLiteral, { minItems: 1 }) },
  via: { schema: tunnelName },
  reconnect: { schema: reconnect },
} satisfies FieldsOf<TunnelConfig>;

const holdDownCheck: ObjectSchema['check'] = (value, report) => {
  const { holdDown, maxHoldDown } = value;
  if (typeof holdDown === 'number' && typeof maxHoldDown === 'number' && maxHoldDown < holdDown) {
    report('.maxHoldDown', `must be at least holdDown (${holdDown} ms), got ${maxHoldDown} ms`);
  }
};

/** `tunnel:`, the primary tunnel; without `interface` it is auto-detected. */
export const tunnel = object(fields, holdDownCheck);

/** `tunnels:`, every entry naming its interface (only the primary may be auto-detected). */
export const tunnels = list(object({ ...fields, interface: { schema: fields.interface.schema, required: true } }, holdDownCheck), { minItems: 1 });

/** An app's tunnel (`wg1`) or failover order (`[wg0, wg1]`), always converted to a list; tunnels not configured are allowed. */
export const appTunnels = list(tunnelName, {
  single: true,
  minItems: 1,
  check: (names, report) => {
    names.forEach((name, i) => {
      const first = names.indexOf(name);
      if (typeof name === 'string' && first < i) report(`[${i}]`, `repeats [${first}] (got ${JSON.stringify(name)}); a failover order names each tunnel once`);
    });
  },
});
