// @ts-check
// The data plane of the twin: HTTP listeners on LB IPs. (stub, filled in by the data plane work)

/** @param {import('../types.js').Twin} _twin @returns {Promise<import('../types.js').Stoppable>} */
export async function startDataplane(_twin) {
  return { stop() {} };
}
