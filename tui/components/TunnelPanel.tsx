import { Box, Text } from 'ink';
import type { Status } from '../../src/ipc/protocol.js';
import { useTone } from '../hooks/use-color.js';
import type { Connection } from '../model.js';
import { tunnelLook } from '../format/states.js';
import { formatAgo, formatClock, formatDuration, formatMs, UNKNOWN } from '../format/units.js';

/** Rows the panel always takes. */
export const TUNNEL_ROWS = 3;
const BADGE_WIDTH = 12;

/** Props: the newest status (null before the first one), the connection and the clock. */
export interface TunnelPanelProps {
  readonly status: Status | null;
  readonly connection: Connection;
  readonly now: number;
}

function infoLines({ status, connection, now }: TunnelPanelProps): [string, string, string] {
  if (status === null) {
    const first = connection.state === 'lost' ? 'no status: the daemon is unreachable' : 'connecting to the daemon…';
    return [first, '', ''];
  }
  const t = status.tunnel;
  const stale = connection.state === 'lost' ? ' · last known state' : '';
  const handshake = t.handshakeAgeMs === null ? UNKNOWN : `${formatDuration(t.handshakeAgeMs)} ago`;
  return [
    `tunnel ${t.interface} · ${t.state} since ${formatClock(t.since)} (${formatAgo(t.since, now)})${stale}`,
    `reason: ${t.reason || UNKNOWN}`,
    // With several tunnels the last line says how each is and who rides it; the primary's figures fit in one.
    (status.tunnels?.length ?? 0) > 1 ? tunnelsLine(status.tunnels!)
      : `handshake ${handshake} · probe RTT ${formatMs(t.probeRttMs)} · last reaction ${formatMs(t.lastReactionMs)}`,
  ];
}

/** Every tunnel in one line: its state and the apps riding it (pure). */
export function tunnelsLine(tunnels: NonNullable<Status['tunnels']>): string {
  return `tunnels: ${tunnels.map((t) => `${t.interface} ${t.state === 'up' ? '▲' : '▼'}${t.state === 'up' ? '' : ` ${t.reason}`}${t.via ? ` (in ${t.via})` : ''}: ${t.apps.length ? t.apps.join(', ') : 'no app'}`).join(' · ')}`;
}

/** The tunnel at a glance: a big UP/DOWN badge and the facts behind it. */
export function TunnelPanel(props: TunnelPanelProps) {
  const tone = useTone();
  const look = tunnelLook(props.status?.tunnel.state ?? null, props.connection.state === 'lost');
  const lines = infoLines(props);
  return (
    <Box height={TUNNEL_ROWS}>
      <Box borderStyle="round" borderColor={tone(look.tone)} width={BADGE_WIDTH} justifyContent="center" flexShrink={0}>
        <Text bold color={tone(look.tone)}>{`${look.symbol} ${look.label}`}</Text>
      </Box>
      <Box flexDirection="column" marginLeft={1} flexGrow={1}>
        {lines.map((line, i) => (
          <Text key={i} wrap="truncate-end" bold={i === 0}>{line}</Text>
        ))}
      </Box>
    </Box>
  );
}
