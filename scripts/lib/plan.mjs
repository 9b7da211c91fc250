// @ts-check
// The words a step file declares its work with, besides the commands:
//   code(bash, run)        what a command alone cannot do, with the bash that does the same
//   eachCluster(cs, fn)    the same actions on each cluster, at the same time
// and what the executor, --transcript and the lab guide read from them.
import { bashOf } from './bash-text.mjs';

/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./actions.js').Code} Code */
/** @typedef {import('./actions.js').Item} Item */
/** @typedef {import('./actions.js').Lanes} Lanes */
/** @typedef {import('./actions.js').Plan} Plan */
/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */

/**
 * Code and the bash it stands for.
 * @param {string[]} bash
 * @param {Code['run']} run
 * @returns {Code}
 */
export const code = (bash, run) => ({ bash, run });

/** @param {Item} item @returns {item is Code} */
export const isCode = (item) => 'run' in item && typeof item.run === 'function';

/**
 * Per cluster, the same actions; the clusters' lists run at the same time.
 * @param {readonly ClusterConfig[]} clusters
 * @param {(c: ClusterConfig) => Action[]} actions
 * @returns {Lanes}
 */
export const eachCluster = (clusters, actions) => ({ lanes: clusters.map(actions) });

/** @param {Plan} p @returns {p is Lanes} */
export const isLanes = (p) => 'lanes' in p;

/** Every action of a plan, in the order a transcript lists them. @param {readonly Plan[]} plans @returns {Action[]} */
export const actionsOf = (plans) => plans.flatMap((p) => (isLanes(p) ? p.lanes.flat() : [p]));

/** @param {Item} item @returns {string[]} */
export const bashOfItem = (item) => (isCode(item) ? item.bash : [bashOf(/** @type {Command} */ (item))]);

/** The bash of an action's change and verification. @param {Action} action */
export const transcriptOf = (action) => [...(action.run ?? []), ...(action.verify ?? [])].flatMap(bashOfItem);

/** The bash of what is left when only the verification is. @param {Action} action */
export const verifyBashOf = (action) => (action.verify ?? []).flatMap(bashOfItem);
