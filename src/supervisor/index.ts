export * from './types.js';
export * from './app.js';
export * from './supervisor.js';
export * from './errors.js';
export * from './manual.js';
export * from './reconcile.js';
export * from './world.js';
export { step } from './machine.js';
