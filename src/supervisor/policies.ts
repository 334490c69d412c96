import type { App } from './app.js';
import type { Supervisor } from './supervisor.js';

/**
 * Applies each app's drop policy when the tunnel goes down. Freezes and kills
 * run in parallel (the reaction time is the slowest group's); block needs one
 * firewall transaction for all blocked apps.
 */
export async function onTunnelDown(sup: Supervisor, apps: readonly App[]): Promise<void> {
  let resync = false;
  const why = `tunnel ${sup.options.tunnelIface} down: ${sup.tunnel.reason}`;
  await Promise.all(apps.map(async (app) => {
    if (app.onDrop === 'freeze' && app.state === 'running') {
      // Frozen from the moment cgroup.freeze is written, also when a process stuck in uninterruptible I/O keeps
      // the kernel from finishing (the freeze times out): the tunnel coming back must thaw it all the same.
      app.state = 'frozen';
      const late = await app.cgroup.freeze().then(() => '', (error: Error) => `; not every process has stopped yet (${error.message})`);
      sup.record({ type: 'app-frozen', app: app.name, detail: `${why}${late}` });
    } else if (app.onDrop === 'kill' && app.state === 'running') {
      app.state = 'killed';
      await app.cgroup.sendKill();
      sup.record({ type: 'app-killed', app: app.name, detail: why });
      await app.cgroup.waitEmpty();
    } else if (app.onDrop === 'block' && !app.blocked) {
      app.blocked = true;
      app.state = 'blocked';
      resync = true;
    }
  }));
  if (resync) {
    await sup.sync();
    for (const app of apps) if (app.state === 'blocked') sup.record({ type: 'app-blocked', app: app.name, detail: why });
  }
}

/** Undoes the drop policies when the tunnel is back: thaw, unblock, restart. */
export async function onTunnelUp(sup: Supervisor, apps: readonly App[]): Promise<void> {
  let resync = false;
  const why = `tunnel ${sup.options.tunnelIface} up`;
  for (const app of apps) {
    if (app.blocked) {
      app.blocked = false;
      resync = true;
    }
  }
  if (resync) await sup.sync();
  await Promise.all(apps.map(async (app) => {
    if (app.state === 'frozen' && !app.manualFreeze) {
      await app.cgroup.thaw();
      app.state = 'running';
      sup.record({ type: 'app-thawed', app: app.name, detail: why });
    } else if (app.state === 'blocked') {
      app.state = 'running';
      sup.record({ type: 'app-unblocked', app: app.name, detail: why });
    } else if (app.state === 'killed' && app.restart) {
      // A new instance only into an empty group: one started beside dying processes would never let it empty.
      const empty = await app.cgroup.waitEmpty().then(() => '', (error: Error) => error.message);
      if (empty) {
        sup.record({ type: 'error', app: app.name, detail: `not restarted: its killed processes have not all exited (${empty}); it restarts when the tunnel next comes back` });
        return;
      }
      app.state = 'running';
      sup.record({ type: 'app-restart', app: app.name, detail: why });
      await sup.options.restart?.(app);
    } else if (app.state === 'killed' && !(await app.cgroup.events().catch(() => ({ populated: true }))).populated) {
      // Registered while the tunnel was down (its client waits for the tunnel before starting it): it may run now,
      // and the next loss must kill it again.
      app.state = 'running';
    }
  }));
}
