// The dashboard's public surface, for the CLI and the README generator.
export { runDashboard, type RunDashboardOptions } from './run.js';
export type { AppOp, DashboardSource } from './source.js';
export { renderStatusText, type StatusTextOptions } from './format/text.js';
export { captureOnce, type OnceOptions } from './once.js';
export { computeRates, type AppRates, type Sample } from './rates.js';
