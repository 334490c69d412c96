// The desktop side: org.freedesktop.Notifications on the user's session bus, through
// @jellybrick/dbus-next (pure JS; no notify-send). One bubble per key, replaced in place by its id;
// the server's ActionInvoked and NotificationClosed signals come back by key.
import type { EventEmitter } from 'node:events';
import { Message, MessageType, sessionBus, Variant, type MessageBus } from '@jellybrick/dbus-next';
import { busUnreachable } from './errors.js';
import type { NoticeAction } from './notice.js';

const NAME = 'org.freedesktop.Notifications';
const PATH = '/org/freedesktop/Notifications';
const LABELS: Readonly<Record<NoticeAction, string>> = { thaw: 'Thaw now', dashboard: 'Open dashboard' };
const URGENCY = { normal: 1, critical: 2 } as const;

/** One notification as the desktop shows it. */
export interface Bubble {
  readonly summary: string;
  readonly body: string;
  readonly urgency: 'normal' | 'critical';
  readonly actions: readonly NoticeAction[];
  /** A freedesktop notification category, e.g. `network.disconnected`. */
  readonly category: string;
  /** An icon name of the freedesktop icon naming spec. */
  readonly icon: string;
}

/** What the agent needs of the desktop (the tests may stand in for it). */
export interface DesktopPort {
  /** Shows `bubble` as the notification of `key`, replacing the one `key` showed before. */
  show(key: string, bubble: Bubble): Promise<void>;
}

/** Escapes what a server with `body-markup` would read as markup (pure). */
export function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The session bus's notification server, one bubble per key. */
export class Desktop implements DesktopPort {
  private readonly ids = new Map<string, number>();
  private caps: Set<string> | undefined;
  private actionListener: (key: string, action: string) => void = () => undefined;
  private goneListener: (why: string) => void = () => undefined;

  private constructor(private readonly bus: MessageBus) {
    bus.on('message', (m) => this.signal(m));
    (bus as unknown as EventEmitter).on('error', (e: Error) => this.goneListener(`the session bus failed: ${e.message}`));
    // The library does not forward the end of its stream; its connection object has it.
    (bus as unknown as { _connection?: EventEmitter })._connection?.on('end', () => this.goneListener('the session bus closed the connection'));
  }

  /** Connects to the bus at `address` and subscribes to the server's signals; NotifyError SESSION_BUS_UNREACHABLE when it cannot. */
  static async connect(address: string, timeoutMs = 5000): Promise<Desktop> {
    const bus = sessionBus({ busAddress: address });
    const events = bus as unknown as EventEmitter;
    // Until the Desktop listens, a second error must not go unheard (an unheard 'error' event throws).
    events.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      events.once('connect', () => { clearTimeout(timer); resolve(); });
      events.once('error', (e: Error) => { clearTimeout(timer); reject(e); });
    }).catch((cause: unknown) => {
      bus.disconnect();
      throw busUnreachable(address, cause);
    });
    const desktop = new Desktop(bus);
    await desktop.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [`type='signal',interface='${NAME}',path='${PATH}'`]);
    return desktop;
  }

  /** The server's capabilities (`actions`, `body-markup`, …); empty while no server answers. Asked once, again after a failure. */
  async capabilities(): Promise<ReadonlySet<string>> {
    if (this.caps) return this.caps;
    const reply = await this.call(NAME, PATH, NAME, 'GetCapabilities', '', []).catch(() => undefined);
    const caps = new Set(Array.isArray(reply?.body[0]) ? (reply.body[0] as string[]) : []);
    if (reply) this.caps = caps;
    return caps;
  }

  async show(key: string, b: Bubble): Promise<void> {
    const caps = await this.capabilities();
    const actions = caps.has('actions') ? b.actions.flatMap((a) => [a, LABELS[a]]) : [];
    const body = caps.has('body-markup') ? escapeMarkup(b.body) : b.body;
    const hints = { urgency: new Variant('y', URGENCY[b.urgency]), category: new Variant('s', b.category) };
    const reply = await this.call(NAME, PATH, NAME, 'Notify', 'susssasa{sv}i', ['ksapp', this.ids.get(key) ?? 0, b.icon, b.summary, body, actions, hints, -1]);
    const id = reply?.body[0];
    if (typeof id === 'number') this.ids.set(key, id);
  }

  /** Calls back with the key and action id when the user picks an action of one of our bubbles. */
  onAction(listener: (key: string, action: string) => void): void {
    this.actionListener = listener;
  }

  /** Calls back when the session bus goes away. */
  onGone(listener: (why: string) => void): void {
    this.goneListener = listener;
  }

  /** Leaves the bus. */
  close(): void {
    this.bus.disconnect();
  }

  private call(destination: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<Message | null> {
    return this.bus.call(new Message({ destination, path, interface: iface, member, signature, body }));
  }

  private signal(m: Message): void {
    if (m.type !== MessageType.SIGNAL || m.interface !== NAME || m.path !== PATH) return;
    const key = [...this.ids].find(([, id]) => id === m.body[0])?.[0];
    if (key === undefined) return;
    if (m.member === 'ActionInvoked' && typeof m.body[1] === 'string') this.actionListener(key, m.body[1]);
    // A closed bubble's id is spent: the key's next notification is a new bubble.
    if (m.member === 'NotificationClosed') this.ids.delete(key);
  }
}
