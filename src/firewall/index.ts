export * from './policy.js';
export * from './ruleset.js';
export * from './readback.js';
export * from './apply.js';
export * from './routing.js';
export * from './errors.js';
export * from './conntrack.js';
