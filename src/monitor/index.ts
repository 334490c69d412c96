/** The tunnel health monitor: sources, pure parsers and the state machine. */
export { TunnelMonitor, type MonitorSnapshot, type MonitorTransition } from './monitor.js';
export { validateOptions, type TunnelMonitorOptions } from './options.js';
export { MonitorError } from './errors.js';
export { detectTunnel, pickTunnel, classifyTunnel, tunnelKind, type TunnelKind } from './detect.js';
export { TunnelStateMachine, type HealthInput, type HoldOptions, type Transition, type TunnelState } from './state-machine.js';
export { parseMonitorLine, isLinkUp, type AddrEvent, type LinkEvent, type MonitorEvent, type RouteEvent } from './ip-monitor-parse.js';
export { parseWgDump, newestHandshakeAgeMs, handshakeHealth, type WgDump, type WgPeer } from './wg-dump-parse.js';
export { parseIpAddrJson, readLinkSnapshot, type LinkSnapshot, type SnapshotAddr } from './link-snapshot.js';
export { applyEvent, linkHealth, stateFromSnapshot, type LinkState } from './link-state.js';
export { LinkSource, type LinkSourceOptions } from './link-source.js';
export { HandshakeSource, type HandshakeSourceOptions } from './handshake-source.js';
export { ProbeSource, parsePingRtt, type ProbeSourceOptions } from './probe-source.js';
export { subscribedInodes, waitNetlinkSubscribed } from './netlink-ready.js';
export { insideAny, isCidr, tunnelPrefixes } from './subnets.js';
export type { SourceHealth } from './source.js';
export { healthCoverage, type HealthCoverage } from './health-sources.js';
