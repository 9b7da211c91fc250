// @ts-check
// The exec model of a cluster: what runs when kubectl, the real cilium CLI or
// the stand-in exec into a pod of the twin (commands.mjs), seeing the cluster's
// own store and, once attached to a twin, the other cluster through the mesh.
import { run } from './commands.mjs';

/** @typedef {import('./state.mjs').AgentWorld} AgentWorld */
/** @typedef {import('../server/exec.mjs').ExecModel} ExecModel */

/** @param {AgentWorld} world @returns {ExecModel} */
export function execModel(world) {
  return (t, io) => run(world, t, io);
}

/**
 * Gives both API servers of a twin the model that knows both clusters.
 * @param {import('../server/types.js').RunningTwin} twin
 */
export function attachAgents(twin) {
  for (const key of /** @type {const} */ (['a', 'b'])) {
    const c = twin.clusters[key];
    c.server.setExecModel(execModel({ store: c.store, twin, key, k3sVersion: twin.options.k3sVersion }));
  }
}
