// A desktop user's session for `ksapp notify` tests: a private session bus (dbus-daemon) run as that
// user, with the stand-in notification server (test/fixtures/notification-server.mjs) on it, which
// records every Notify call. Every process is started as the user and ended by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';

const SERVER = path.resolve('test/fixtures/notification-server.mjs');

/** One Notify call as the stand-in server recorded it (`urgency` and `category` are its hints). */
export interface NotifyCall {
  readonly id: number;
  readonly app: string;
  readonly replacesId: number;
  readonly icon: string;
  readonly summary: string;
  readonly body: string;
  readonly actions: string[];
  readonly urgency: number;
  readonly category: string;
  readonly timeout: number;
  /** When the server took the call (ms since the epoch). */
  readonly at: number;
}

/** The argv prefix that runs a command as `uid` (its gid the same number), with no other groups. */
export function asUser(uid: number): string[] {
  return ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--'];
}

/** One user's session bus and notification server. */
export interface DesktopSession {
  readonly uid: number;
  /** The bus address, for DBUS_SESSION_BUS_ADDRESS. */
  readonly address: string;
  /** The user's own directory (the bus socket is in it). */
  readonly home: string;
  /** Every Notify call so far, oldest first. */
  readonly calls: NotifyCall[];
  /** Starts a long-running process as the user; `stop` ends it. */
  start(argv: readonly string[], env: Record<string, string>): ChildProcess;
  /** Ends every process of the session, the last started first, and waits until each is gone. */
  stop(): Promise<void>;
}

/** Starts a session bus and the notification server as `uid`, in a directory of its own under `dir`. */
export async function startDesktopSession(dir: string, uid: number): Promise<DesktopSession> {
  const home = path.join(dir, `uid-${uid}`);
  await mkdir(home);
  await chown(home, uid, uid);
  const children: ChildProcess[] = [];
  const calls: NotifyCall[] = [];
  const start = (argv: readonly string[], env: Record<string, string>): ChildProcess => {
    const child = spawn(asUser(uid)[0]!, [...asUser(uid).slice(1), ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  const session: DesktopSession = { uid, address: '', home, calls, start, stop: () => stopAll(children) };
  try {
    const bus = start(['dbus-daemon', '--session', '--print-address', '--nofork', `--address=unix:path=${home}/bus`], { PATH: '/usr/bin:/bin' });
    const address = await firstLine(bus, (line) => line, 'dbus-daemon');
    const server = start([process.execPath, SERVER, address], { PATH: '/usr/bin:/bin' });
    await firstLine(server, (line) => {
      const m = JSON.parse(line) as { ready?: true; call?: string } & NotifyCall;
      if (m.call === 'Notify') calls.push(m);
      return m.ready ? line : undefined;
    }, 'notification server');
    return { ...session, address };
  } catch (error) {
    await session.stop();
    throw error;
  }
}

/** Reads `child`'s stdout lines through `take` (for ever) and resolves with the first it accepts; rejects if the child exits first. */
function firstLine(child: ChildProcess, take: (line: string) => string | undefined, what: string): Promise<string> {
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = `${stderr}${d}`.slice(-2000); });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const got = take(line);
      if (got !== undefined) resolve(got);
    });
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready: ${stderr}`)));
  });
}

/** Sends SIGTERM to each child still running (SIGKILL after 2 s) and waits until it has exited. */
async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const signal = (name: NodeJS.Signals): void => { try { process.kill(child.pid!, name); } catch { /* gone meanwhile */ } };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
