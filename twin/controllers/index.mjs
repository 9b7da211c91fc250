// @ts-check
// Controllers of the twin, what runs "inside" the two simulated clusters.
// All are driven by store events and use twin.options.delays; stop() clears
// their timers.
import { startWorkloads } from './workloads.mjs';
import { startOperator } from './operator.mjs';

/** @param {import('../types.js').Twin} twin @returns {import('../types.js').Stoppable} */
export function startControllers(twin) {
  const parts = [startWorkloads(twin), startOperator(twin)];
  return {
    stop() {
      for (const p of parts.reverse()) p.stop();
    },
  };
}
