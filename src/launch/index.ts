export * from './launcher.js';
export * from './user.js';
export * from './resolve-command.js';
export * from './stopped-start.js';
export * from './spawn-app.js';
export * from './dns-gaps.js';
export * from './registration.js';
export * from './tunnel-notices.js';
