// The XDG autostart entry that starts `ksapp notify` at every desktop login, as the user logging in
// (pure text). XDG autostart rather than a systemd user unit: GNOME, KDE, Xfce and the rest all read
// /etc/xdg/autostart, and on systemd sessions xdg-autostart-generator turns it into a user unit that
// starts with the graphical session and has its session bus.
import { quoteExecArg } from '../adopt/launcher.js';

/** Where the agent's program is. */
export interface AgentPaths {
  /** The node binary. */
  readonly node: string;
  /** ksapp's CLI script. */
  readonly cli: string;
}

/** The file name, in /etc/xdg/autostart (a user's ~/.config/autostart file of the same name overrides it). */
export const AUTOSTART_FILE = 'ksapp-notify.desktop';

/** ksapp-notify.desktop: `ksapp notify`, hidden from menus, started at login (pure). */
export function notifyAutostart(p: AgentPaths): string {
  return `# Installed by \`ksapp setup\`: ksapp's desktop notification agent, started at login as the user logging in.
# To turn it off for one user: copy this file to ~/.config/autostart/ and add Hidden=true.
[Desktop Entry]
Type=Application
Name=ksapp notifications
Comment=Tells you when ksapp freezes, kills or blocks one of your apps because its VPN tunnel is down, and when it is back
Exec=${[p.node, p.cli, 'notify'].map(quoteExecArg).join(' ')}
Icon=network-vpn
Terminal=false
NoDisplay=true
X-GNOME-Autostart-enabled=true
`;
}
