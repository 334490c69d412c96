// Config rules `match: { container: NAME }`: the container is protected
// whenever it runs — at the daemon's start, when its runtime reports it
// started (recreated, restarted, with a new address or veth), and at a
// periodic check that backs the events up.
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { findContainer } from '../adopt/container.js';
import { readContainerSources } from '../adopt/container-net.js';
import type { AppConfig } from '../config/index.js';
import { startProgram, type Started } from '../spawn.js';
import type { Supervisor } from '../supervisor/index.js';
import { tools } from '../tools.js';
import { protectContainer } from './protect-forwarded.js';

/**
 * How often every rule is checked again, whatever the events said: a backstop
 * for a missed event, not the way starts are seen (each check runs the
 * runtime's CLI, which costs far more CPU than the daemon idles on).
 */
export const CONTAINER_RESYNC_MS = 30_000;
/** How long a runtime's event stream that ended waits before it is started again. */
const EVENTS_RESTART_MS = 5000;

/** A container event, from Podman's or Docker's JSON (pure): what happened, and to which container. */
export function parseContainerEvent(line: string): { action: string; name?: string; id?: string } | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const actor = (e.Actor ?? {}) as { ID?: string; Attributes?: { name?: string } };
  const action = String(e.Status ?? e.Action ?? e.status ?? '');
  const name = (e.Name as string | undefined) ?? actor.Attributes?.name;
  const id = (e.ID as string | undefined) ?? (e.id as string | undefined) ?? actor.ID;
  if (!action) return undefined;
  return { action, ...(name ? { name } : {}), ...(id ? { id } : {}) };
}

/** The container rules of a config (pure). */
export function containerRules(apps: readonly AppConfig[]): AppConfig[] {
  return apps.filter((a) => a.match?.container !== undefined);
}

export class ContainerAdopter {
  private rules: AppConfig[] = [];
  private readonly streams = new Map<'podman' | 'docker', Started>();
  private readonly missing = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly sup: Supervisor, private readonly root: string) {}

  /** Follows a (re)loaded config's container rules: each is checked now, then on its runtime's events. */
  async sync(apps: readonly AppConfig[]): Promise<void> {
    this.rules = containerRules(apps);
    if (this.rules.length === 0) {
      this.stopStreams();
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    for (const runtime of ['podman', 'docker'] as const) if (!this.streams.has(runtime)) this.follow(runtime);
    this.timer ??= setInterval(() => void this.checkAll(), CONTAINER_RESYNC_MS).unref();
    await this.checkAll();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopStreams();
  }

  private stopStreams(): void {
    for (const s of this.streams.values()) s.kill();
    this.streams.clear();
  }

  private checkAll(): Promise<unknown> {
    for (const rule of this.rules) void this.check(rule, false);
    return this.queue;
  }

  /**
   * Protects the rule's container when it runs and is not protected as it is
   * now; `started`: its runtime just reported a start, so what the app holds
   * (addresses, veth, group) is of the container's previous life.
   */
  private check(rule: AppConfig, started: boolean): Promise<unknown> {
    this.queue = this.queue.then(async () => {
      if (this.stopped) return;
      const found = await findContainer(rule.match!.container!).catch(() => undefined);
      if (!found) return;
      const app = this.sup.apps.get(rule.name);
      if (app && app.container?.id === found.ref.id) {
        // Runtimes report a start more than once (init, start): the same container, still where it was, is left as it is.
        if (!started) return;
        const now = await readContainerSources(found.pid, found.ref.name).catch(() => undefined);
        if (now && JSON.stringify(now) === JSON.stringify(app.forwarded ?? []) && existsSync(app.cgroup.path)) return;
      }
      const t0 = Date.now();
      try {
        if (app) await this.sup.removeApp(app.name);
        const r = { id: 0, op: 'protect' as const, container: found.ref.id, name: rule.name, onDrop: rule.onDrop, ...(rule.tunnel ? { tunnels: rule.tunnel } : {}) };
        const done = await protectContainer(this.sup, this.root, r, { uid: 0, gid: 0, pid: process.pid }, async () => {
          throw new Error(`container ${found.ref.name} uses the host's network: give its rule \`match: { exe }\` or protect its group (ksapp protect --container) instead`);
        }, 'config');
        this.sup.record({ type: 'app-adopted', app: rule.name, detail: `config rule container ${rule.match!.container} (${started ? 'started' : 'found running'}): protected in ${Date.now() - t0} ms; ${done.note ?? ''}` });
      } catch (error) {
        this.sup.record({ type: 'error', app: rule.name, detail: `config rule container ${rule.match!.container}: ${(error as Error).message}` });
      }
    });
    return this.queue;
  }

  /** Follows one runtime's container events; a runtime that is not installed is noted once and left alone. */
  private follow(runtime: 'podman' | 'docker'): void {
    if (this.stopped || this.missing.has(runtime)) return;
    const args = runtime === 'podman' ? ['events', '--format', 'json', '--filter', 'type=container'] : ['events', '--format', '{{json .}}', '--filter', 'type=container'];
    const started = startProgram(tools[runtime], args, { stdout: 'stream', stderr: 'collect', keepLast: 2000 });
    this.streams.set(runtime, started);
    if (started.stdout) {
      createInterface({ input: started.stdout }).on('line', (line) => {
        const e = parseContainerEvent(line);
        if (!e || !['start', 'restart'].includes(e.action)) return;
        for (const rule of this.rules) {
          const want = rule.match!.container!;
          if (want === e.name || (e.id !== undefined && e.id.startsWith(want))) void this.check(rule, true);
        }
      });
    }
    void started.result.then((r) => {
      if (this.streams.get(runtime) !== started) return;
      this.streams.delete(runtime);
      if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        this.missing.add(runtime);
        return;
      }
      setTimeout(() => this.follow(runtime), EVENTS_RESTART_MS).unref();
    });
  }
}
