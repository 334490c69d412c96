// The agent's one loop and the one owner of its state: daemon events in, one at a time, through
// the notice rules and the coalescer, out to the desktop; the user's actions back to the daemon.
// Every side (desktop, daemon, terminal, clock) is injected, so tests can drive it with literal events.
import type { AppStatus, EventRecord } from '../ipc/protocol.js';
import { Coalescer, type CoalesceOptions, type Post } from './coalesce.js';
import type { Bubble, DesktopPort } from './desktop.js';
import { bodyWithHistory, isAppNotice, noticeFor, viewOf, type Notice, type View } from './notice.js';

/** What the agent acts through. */
export interface AgentPorts {
  /** The user the agent notifies. */
  readonly uid: number;
  readonly desktop: DesktopPort;
  /** The daemon's apps now (to learn who owns an app the agent has not seen). */
  readonly apps: () => Promise<readonly AppStatus[]>;
  /** Asks the daemon to thaw an app; rejects with the daemon's refusal. */
  readonly thaw: (name: string) => Promise<void>;
  /** Opens the dashboard; resolves to why it could not, or undefined. */
  readonly openDashboard: () => Promise<string | undefined>;
  readonly log: (line: string) => void;
  readonly now?: () => number;
  readonly coalesce?: CoalesceOptions;
}

/** How a notice looks on the desktop (pure). */
export function bubbleOf(n: Notice, changes = 1, spanMs = 0): Bubble {
  const cut = n.urgency === 'critical';
  return {
    summary: n.summary, body: bodyWithHistory(n, changes, spanMs), urgency: n.urgency, actions: n.actions,
    category: cut ? 'network.disconnected' : 'network.connected', icon: cut ? 'network-offline' : 'network-idle',
  };
}

/** The notice of the agent's own contact with the daemon (pure). */
export function daemonNotice(up: boolean, reason: string): Notice {
  return up
    ? { key: 'daemon', subject: 'ksapp', state: 'up', reason, summary: 'ksapp daemon is back', body: 'Notifications resume.', urgency: 'normal', actions: [] }
    : {
      key: 'daemon', subject: 'ksapp', state: 'down', reason, summary: 'Lost contact with the ksapp daemon', urgency: 'critical', actions: [],
      body: `Reason: ${reason}.\nProtected apps stay confined by the firewall, but nothing is frozen, thawed or reported until it is back: \`systemctl status ksapp\`.`,
    };
}

/** The per-user notification agent's core. */
export class NotifyAgent {
  private view: View;
  private readonly coalescer: Coalescer;
  private readonly now: () => number;
  private queue: Promise<void> = Promise.resolve();
  private posting: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lostShown = false;

  constructor(private readonly ports: AgentPorts) {
    this.view = viewOf([], ports.uid);
    this.coalescer = new Coalescer(ports.coalesce);
    this.now = ports.now ?? Date.now;
  }

  /** Connected to the daemon: takes its apps, and says it is back if the user was told it was lost. */
  up(apps: readonly AppStatus[]): void {
    this.view = viewOf(apps, this.ports.uid);
    if (this.lostShown) this.add(daemonNotice(true, 'connected again'));
    this.lostShown = false;
  }

  /** Contact with the daemon lost. */
  down(why: string): void {
    this.lostShown = true;
    this.add(daemonNotice(false, why));
  }

  /** Takes one daemon event; events are handled one at a time, in order. */
  event(e: EventRecord): void {
    this.queue = this.queue.then(() => this.handle(e)).catch((error: unknown) => this.ports.log(`event ${e.type}: ${String(error)}`));
  }

  /** The user picked `action` on the bubble of `key`. */
  async action(key: string, action: string): Promise<void> {
    if (action === 'dashboard') {
      const why = await this.ports.openDashboard();
      if (why) await this.show('dashboard', { summary: 'Open the ksapp dashboard', body: why, urgency: 'normal', actions: [], category: 'network', icon: 'utilities-terminal' });
      return;
    }
    if (action !== 'thaw' || !key.startsWith('app:')) return;
    const name = key.slice('app:'.length);
    this.coalescer.replaced(key, this.now());
    try {
      await this.ports.thaw(name);
    } catch (error) {
      const e = error as Error & { hint?: string };
      const hint = e.hint ? `\n${e.hint[0]!.toUpperCase()}${e.hint.slice(1)}.` : '';
      await this.show(key, { summary: `Could not thaw ${name}`, body: `${e.message}.${hint}`, urgency: 'normal', actions: ['dashboard'], category: 'network', icon: 'dialog-warning' });
    }
  }

  /** Waits until every event taken so far is handled and every due bubble posted (for tests and shutdown). */
  async settled(): Promise<void> {
    await this.queue;
    await this.posting;
  }

  /** Stops the timer; nothing more is posted. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async handle(e: EventRecord): Promise<void> {
    // A new app is learnt when it comes, not at its first state change: a tunnel bubble must already count it.
    const arrived = (e.type === 'app-added' || e.type === 'app-adopted') && e.app !== undefined && !this.view.apps.has(e.app);
    if (arrived || (isAppNotice(e) && !this.view.apps.has(e.app))) {
      this.view = viewOf(await this.ports.apps(), this.ports.uid);
    }
    const n = noticeFor(e, this.view);
    if ((e.type === 'app-removed' || e.type === 'app-exited') && e.app !== undefined) {
      const apps = new Map(this.view.apps);
      apps.delete(e.app);
      this.view = { ...this.view, apps };
    }
    if (n) this.add(n);
  }

  private add(n: Notice): void {
    this.coalescer.add(n, this.now());
    this.flush();
  }

  /** Posts what is due and sleeps until the next deadline. */
  private flush(): void {
    clearTimeout(this.timer);
    for (const p of this.coalescer.take(this.now())) void this.post(p);
    const next = this.coalescer.nextDeadline();
    this.timer = next === undefined ? undefined : setTimeout(() => this.flush(), Math.max(0, next - this.now()));
  }

  private post(p: Post): Promise<void> {
    return this.show(p.notice.key, bubbleOf(p.notice, p.changes, p.spanMs));
  }

  /** Posts one at a time: a key's second bubble must know the id the server gave its first, to replace it. */
  private show(key: string, b: Bubble): Promise<void> {
    this.posting = this.posting
      .then(() => this.ports.desktop.show(key, b))
      .catch((error: unknown) => this.ports.log(`could not post "${b.summary}": ${String(error)}`));
    return this.posting;
  }
}
