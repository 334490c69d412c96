// The one check of a network interface name, used by the CLI, the config, the daemon and the monitor.

/** What an interface name may be, for messages. */
export const IFACE_NAME_RULE = '1 to 15 letters, digits or ._@-';

// Linux takes at most 15 bytes (IFNAMSIZ - 1) and no "/", ":" or whitespace; ksapp also keeps to what it
// can put in an nft rule without quoting trouble.
const IFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** Why `name` is not an interface name ksapp accepts, or undefined (pure). */
export function ifaceNameProblem(name: string): string | undefined {
  if (name === '.' || name === '..') return `must not be "." or ".." (got ${JSON.stringify(name)})`;
  return IFACE_NAME.test(name) ? undefined : `must be an interface name of ${IFACE_NAME_RULE} (got ${JSON.stringify(name)})`;
}
