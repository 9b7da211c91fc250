// @ts-check
// What a step needs other steps to have done, on every cluster it touches.
// Asked only before a step's first change, so that a step run out of order
// stops before it has changed one cluster and not the other.
import { ciliumRelease, getObjects } from './probes.mjs';
import { ToolError } from './runtime.mjs';
import { POOL_RESOURCE } from './manifests.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * Cilium installed on both clusters (steps 01 and 03).
 * @param {Runtime} rt
 * @param {Config} config
 * @returns {Promise<string | null>}
 */
export async function ciliumOnBoth(rt, config) {
  for (const c of config.clusters) {
    if (!(await ciliumRelease(rt, c))) {
      return `Cilium is not installed on ${c.context}: run step ${c.key === 'a' ? '01' : '03'} (npm run ${c.key === 'a' ? '01' : '03'}) first.`;
    }
  }
  return null;
}

/**
 * A pool of the given name on both clusters.
 * @param {string} pool
 * @param {string} step the step that makes it, e.g. "04"
 * @returns {(rt: Runtime, config: Config) => Promise<string | null>}
 */
export function poolOnBoth(pool, step) {
  return async (rt, config) => {
    for (const c of config.clusters) {
      try {
        const live = await getObjects(rt, c, null, [`${POOL_RESOURCE}/${pool}`]);
        if (!live.has(`ciliumloadbalancerippool/${pool}`)) return `pool ${pool} is missing on ${c.context}: run step ${step} (npm run ${step}) first.`;
      } catch (err) {
        if (err instanceof ToolError && /doesn't have a resource type/.test(err.stderr)) {
          return `${c.context} does not serve Cilium's pool kinds yet: run steps 01–${step} first.`;
        }
        throw err;
      }
    }
    return null;
  };
}
