// What `ksapp run` tells the user about the app's tunnel, one line each: never a command that sits
// there without saying why.
import { KsappError } from '../errors.js';
import type { EventRecord, Registration } from '../ipc/protocol.js';

const VERBS: Readonly<Record<string, string>> = {
  'app-frozen': 'frozen', 'app-thawed': 'thawed, running again', 'app-killed': 'killed',
  'app-blocked': 'blocked (its packets are dropped)', 'app-unblocked': 'unblocked', 'app-restart': 'restarted',
};

/** What the tunnel looks like from here, in a few words (pure). */
function tunnelPhrase(t: NonNullable<Registration['tunnel']>): string {
  if (!t.exists) {
    const here = t.tunnelsHere.length ? `tunnel interfaces here: ${t.tunnelsHere.join(', ')}` : 'no tunnel interface exists here yet';
    return `tunnel interface ${t.interface} does not exist yet (${here})`;
  }
  return `tunnel ${t.interface} is down (${t.reason})`;
}

/**
 * The line to print when the app starts while its tunnel is down, or the
 * refusal under --no-wait; nothing when the tunnel is up (pure).
 */
export function startNotice(reg: Registration, policy: 'freeze' | 'kill' | 'block', noWait: boolean, wanted?: readonly string[]): { line?: string; refusal?: KsappError } {
  const t = reg.tunnel;
  // An older daemon watches one tunnel: an app asking for another must not ride it without a word.
  if (t && wanted !== undefined && !wanted.includes(t.interface)) {
    return {
      refusal: new KsappError(`the running daemon put the app on tunnel ${t.interface}, not ${wanted.join(' or ')}; nothing was started`, {
        code: 'TUNNEL_OTHER', exitCode: 2, hint: `use --tunnel ${t.interface}, or restart the daemon (\`ksapp\` of this version watches every tunnel an app names)`,
      }),
    };
  }
  if (!t || t.state === 'up') return {};
  if (noWait) {
    return {
      refusal: new KsappError(t.exists ? `tunnel ${t.interface} is down (${t.reason})` : `tunnel interface ${t.interface} does not exist`, {
        code: t.exists ? 'TUNNEL_DOWN' : 'TUNNEL_MISSING', exitCode: 2,
        hint: t.exists ? 'bring the VPN up, or leave out --no-wait to start the app frozen until it is back'
          : `bring the VPN up first (e.g. \`wg-quick up ${t.interface}\`), or name the right one with --tunnel (${t.tunnelsHere.length ? `here: ${t.tunnelsHere.join(', ')}` : 'none exists here'})`,
      }),
    };
  }
  const what = policy === 'block' ? 'starts blocked' : policy === 'kill' ? 'waits' : 'starts frozen';
  const until = t.exists ? 'until it is back' : 'until it appears';
  return { line: `${tunnelPhrase(t)}: ${reg.name} ${what} ${until}` };
}

/** The line for a later change of the app's state (frozen, thawed, killed, …), or undefined for other events (pure). */
export function stateLine(e: EventRecord, app: string): string | undefined {
  const verb = e.app === app ? VERBS[e.type] : undefined;
  return verb ? `${app} ${verb}${e.detail ? `: ${e.detail}` : ''}` : undefined;
}
