import { KsappError } from '../errors.js';

/** Failures of the desktop notification agent (`ksapp notify`); `code` says which. */
export class NotifyError extends KsappError {}

/** The agent runs as root (exit 2): root has no desktop session of its own to notify, and the user's is theirs. */
export function startedAsRoot(): NotifyError {
  return new NotifyError('ksapp notify refuses to run as root: it posts to the desktop session of the user it runs as', {
    code: 'NOTIFY_AS_ROOT', exitCode: 2,
    hint: 'run it as the desktop user, without sudo (`ksapp notify`); `sudo ksapp setup` installs an autostart entry that starts it at every login',
  });
}

/** No session bus to post to (exit 1). */
export function noSessionBus(uid: number): NotifyError {
  return new NotifyError(`no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and /run/user/${uid}/bus does not exist`, {
    code: 'NO_SESSION_BUS', exitCode: 1,
    hint: 'run it inside your desktop session (its autostart entry does that at login); over ssh, export DBUS_SESSION_BUS_ADDRESS of the session to notify',
  });
}

/** The session bus is there but does not let us in (exit 1). */
export function busUnreachable(address: string, cause: unknown): NotifyError {
  return new NotifyError(`cannot connect to the D-Bus session bus at ${address}`, {
    code: 'SESSION_BUS_UNREACHABLE', exitCode: 1, cause,
    hint: 'is the desktop session still running, and is this the user it belongs to?',
  });
}
