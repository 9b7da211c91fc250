// @ts-check
// The nine steps in order. all.mjs, the transcript and the tests take them from here.
// Step 00 (merge the K3s kubeconfigs) comes before them only when the config
// names the two K3s kubeconfigs.
import { step as s00 } from './00-kubeconfig.mjs';
import { step as s01 } from './01-install-a.mjs';
import { step as s02 } from './02-share-ca.mjs';
import { step as s03 } from './03-install-b.mjs';
import { step as s04 } from './04-mesh-pools.mjs';
import { step as s05 } from './05-app-pools.mjs';
import { step as s06 } from './06-clustermesh-enable.mjs';
import { step as s07 } from './07-clustermesh-connect.mjs';
import { step as s08 } from './08-deploy-echo.mjs';
import { step as s09 } from './09-failover.mjs';

export const STEPS = Object.freeze([s01, s02, s03, s04, s05, s06, s07, s08, s09]);

// Not one of the steps: `npm run all` never tears down. Step 10 undoes 09 → 01.
export { step as TEARDOWN } from './10-teardown.mjs';

/** Step 00: merges the two K3s kubeconfigs into KUBECONFIG's first file. */
export const KUBECONFIG_STEP = s00;

/**
 * The steps that apply to this config, in order: 00 first when
 * CLUSTER_A/B_K3S_KUBECONFIG are set, then the nine.
 * @param {import('./lib/types.js').Config} config
 */
export const stepsFor = (config) => (config.k3s ? [s00, ...STEPS] : [...STEPS]);
