// @ts-check
// Controllers of the twin: workloads, operator (CRDs), LB-IPAM. (stub, filled in by the controllers work)

/** @param {import('../types.js').Twin} _twin @returns {import('../types.js').Stoppable} */
export function startControllers(_twin) {
  return { stop() {} };
}
