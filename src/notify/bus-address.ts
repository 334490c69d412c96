// Where the user's session bus is: the address the session exports, else the per-user socket
// systemd-logind and dbus-user-session put at /run/user/UID/bus (pure but for the `exists` check).

/** The session bus address for `uid`, or undefined when there is none. */
export function sessionBusAddress(env: Readonly<Record<string, string | undefined>>, uid: number, exists: (path: string) => boolean): string | undefined {
  const given = env.DBUS_SESSION_BUS_ADDRESS?.trim();
  if (given) return given;
  const socket = `/run/user/${uid}/bus`;
  return exists(socket) ? `unix:path=${socket}` : undefined;
}
