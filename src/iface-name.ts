// The one check of a network interface name, used by the CLI, the config, the daemon and the monitor.

/** What an interface name may be, for messages. */
export const IFACE_NAME_RULE = '1 to 15 letters, digits or ._@-';

// Linux takes at most 15 bytes (IFNAMSIZ - 1) and no "/", ":" or whitespace; ksapp also keeps to what it
// can put in an nft rule without quoting trouble.
const IFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** Why `name` is not an interface name ksapp accepts, or undefined (pure). */
export function ifaceNameProblem(name: string): string | undefined {
  if (name === '.' || name === '..') return `must not be "." or ".." (got ${JSON.stringify(name)})`;
  if (IFACE_NAME.test(name) && !/\.(conf|ovpn)$/.test(name)) return undefined;
  return `must be an interface name of ${IFACE_NAME_RULE} (got ${JSON.stringify(name)})${vpnConfigHint(name)}`;
}

/**
 * A provider's VPN config given where its interface is meant: which interface
 * it makes and how to bring it up (pure; '' for anything else).
 */
function vpnConfigHint(name: string): string {
  const base = name.split('/').pop() ?? name;
  if (base.endsWith('.conf')) {
    const iface = base.slice(0, -'.conf'.length);
    return `; that is a wg-quick config: it makes the interface ${JSON.stringify(iface)} — bring it up with \`wg-quick up ${name}\`, then name ${iface}`;
  }
  if (base.endsWith('.ovpn')) {
    return '; that is an OpenVPN profile: its `dev` line names the tun device it makes (tun0 when it says `dev tun`) — start it ' +
      `(\`openvpn --config ${name}\`, or your VPN app), then name that device, and give the tunnel a probe: OpenVPN has no handshake age`;
  }
  return '';
}
