// @ts-check
// The runbook's settings: read once from a dotenv file and the environment,
// checked in one pass that collects every problem, and handed out frozen.
//
// loadConfig() does the reading (env file, kubeconfig: config-load.mjs);
// buildConfig() is the pure part (variables in, Config or problems out:
// config-build.mjs) so tests can feed it tables. The variables, their defaults
// and parsers are in config-table.mjs.
export { buildConfig } from './config-build.mjs';
export { loadConfig } from './config-load.mjs';
export { ConfigError, formatProblems } from './config-error.mjs';
export { DEFAULTS, VARIABLES, SETTINGS } from './config-table.mjs';
export { editDistance, nearestVariable, findUnknownVariables } from './config-unknown.mjs';
export { parseDuration } from './config-parsers.mjs';

/** @typedef {import('./config-kubeconfig.mjs').KubeconfigInfo} KubeconfigInfo */
