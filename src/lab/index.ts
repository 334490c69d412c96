// The leak lab: throwaway network namespaces with a real WireGuard tunnel, for
// the end-to-end tests and `ksapp demo`.
export { createLab, type Lab, type LabOptions } from './lab.js';
export { removeLeftoverLabs } from './cleanup.js';
export { LabError } from './errors.js';
export { TUNNEL2_FAULTS, type Faults, type LabFault, type TunnelFaults } from './faults.js';
export { nsenterArgs, execIn, parseNetnsList } from './netns.js';
export { fixturePath, parseRecords, type Received } from './recorder.js';
export { parsePidLines, parseStatStartTime } from './state.js';
export { ispRuleset, vpnNatRuleset } from './rulesets.js';
export { planFor, wgIfaceNames, type LabMode, type LabPlan, type TunnelPlan } from './topology.js';
export { parseLatestHandshakes, pingFrom } from './wireguard.js';
export { collectJsonLines } from './json-lines.js';
export { OPENVPN, startOpenvpn, type OpenvpnLab } from './openvpn.js';
export { removeLabClient, wgQuickClient, type WgQuickClient } from './wg-quick.js';
