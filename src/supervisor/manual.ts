import type { App } from './app.js';
import { SupervisorError } from './errors.js';
import type { Supervisor } from './supervisor.js';

/** Looks an app up by name or fails with a message listing what exists. */
export function findApp(sup: Supervisor, name: string): App {
  const app = sup.apps.get(name);
  if (!app) {
    const names = [...sup.apps.keys()];
    throw new SupervisorError(`no protected app named "${name}"`, {
      code: 'APP_UNKNOWN', exitCode: 2,
      hint: names.length ? `protected apps: ${names.join(', ')}` : 'no app is protected right now (ksapp status)',
    });
  }
  return app;
}

/** Freezes an app on request; it stays frozen until thawed by hand. */
export function freezeApp(sup: Supervisor, name: string): Promise<void> {
  return sup.serially(async () => {
    const app = findApp(sup, name);
    // Frozen (and to be thawed by hand only) once cgroup.freeze is written, whether or not the kernel finishes in time.
    app.state = 'frozen';
    app.manualFreeze = true;
    const late = await app.cgroup.freeze().then(() => '', (error: Error) => `; not every process has stopped yet (${error.message})`);
    sup.record({ type: 'app-frozen', app: name, detail: `by request${late}` });
  });
}

/** Thaws an app on request; refused while the tunnel is down (the firewall would hold anyway). */
export function thawApp(sup: Supervisor, name: string): Promise<void> {
  return sup.serially(async () => {
    const app = findApp(sup, name);
    if (sup.tunnel.state === 'down' && app.onDrop === 'freeze') {
      throw new SupervisorError(`cannot thaw ${name}: the tunnel is down (${sup.tunnel.reason})`, {
        code: 'TUNNEL_DOWN', exitCode: 1,
        hint: 'it thaws by itself when the tunnel is back; its traffic could not leave anyway, the firewall still confines it',
      });
    }
    if (app.state === 'needs-restart') {
      throw new SupervisorError(`cannot thaw ${name}: sockets it opened before it was adopted are outside protection`, {
        code: 'NEEDS_RESTART', exitCode: 1, hint: `restart the app: \`ksapp kill ${name}\`, then start it again (through \`ksapp run\`, or let a config rule adopt it)`,
      });
    }
    await app.cgroup.thaw();
    app.manualFreeze = false;
    if (app.state === 'frozen') app.state = app.blocked ? 'blocked' : 'running';
    sup.record({ type: 'app-thawed', app: name, detail: 'by request' });
  });
}

/** Kills every process of an app; its group and rules go once it is empty. */
export async function killApp(sup: Supervisor, name: string): Promise<void> {
  const app = await sup.serially(async () => {
    const app = findApp(sup, name);
    app.state = 'killed';
    // Recorded once the signal is sent, before the group empties: the exit it causes comes after it in the log.
    await app.cgroup.sendKill();
    sup.record({ type: 'app-killed', app: name, detail: 'by request' });
    return app;
  });
  await app.cgroup.waitEmpty();
}
