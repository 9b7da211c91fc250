// @ts-check
// The disruption controller: a PodDisruptionBudget's status from the pods its
// selector matches (the chart renders PDBs for the operator, hubble-relay,
// hubble-ui and the clustermesh-apiserver when asked). Expected pods are the
// matching pods that are not finished or being deleted (the real controller
// asks their controllers' scale; the same number once a rollout settled);
// healthy ones are ready. Helm 4's status check reads currentHealthy and
// desiredHealthy; `kubectl get pdb` prints disruptionsAllowed.
import { Debouncer, findCondition, nowIso, selectorMatches } from './util.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../types.js').Twin} Twin */

const PDBS = 'policy/poddisruptionbudgets';
const PODS = '/pods';

/** @param {Twin} twin */
export function startDisruption(twin) {
  const parts = Object.values(twin.clusters).map((c) => {
    const store = c.store;
    const flusher = new Debouncer(() => { for (const p of store.list(PDBS)) sync(store, p); }, () => 0);
    const onEvent = (/** @type {StoreEvent} */ ev) => {
      if (ev.resource === PDBS || (ev.resource === PODS && store.list(PDBS).length)) flusher.kick();
    };
    store.on('event', onEvent);
    flusher.kick();
    return { stop() { store.off('event', onEvent); flusher.stop(); } };
  });
  return { stop() { for (const p of parts) p.stop(); } };
}

/**
 * An int or a percentage of `of`, rounded up (minAvailable and maxUnavailable both round up).
 * @param {unknown} v @param {number} of
 */
function scaled(v, of) {
  const m = /^(\d+)%$/.exec(String(v));
  return m ? Math.ceil((Number(m[1]) * of) / 100) : Number(v) || 0;
}

/** @param {import('../store/store.mjs').Store} store @param {KubeObject} pdb */
function sync(store, pdb) {
  const spec = pdb.spec ?? {};
  const pods = store.list(PODS, pdb.metadata.namespace ?? '')
    .filter((p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase))
    .filter((p) => spec.selector && selectorMatches(spec.selector, p.metadata.labels));
  const expectedPods = pods.length;
  const currentHealthy = pods.filter((p) => findCondition(p.status?.conditions, 'Ready')?.status === 'True').length;
  const desiredHealthy = spec.maxUnavailable !== undefined
    ? Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods))
    : scaled(spec.minAvailable ?? 1, expectedPods);
  const disruptionsAllowed = Math.max(0, currentHealthy - desiredHealthy);
  const allowed = disruptionsAllowed > 0;
  const prev = findCondition(pdb.status?.conditions, 'DisruptionAllowed');
  const status = {
    observedGeneration: pdb.metadata.generation, disruptionsAllowed, currentHealthy, desiredHealthy, expectedPods,
    conditions: [{
      type: 'DisruptionAllowed', status: allowed ? 'True' : 'False', observedGeneration: pdb.metadata.generation,
      lastTransitionTime: prev?.status === (allowed ? 'True' : 'False') ? prev.lastTransitionTime : nowIso(),
      reason: allowed ? 'SufficientPods' : 'InsufficientPods', message: '',
    }],
  };
  if (JSON.stringify(status) === JSON.stringify(pdb.status)) return;
  try { store.update(PDBS, { ...pdb, status }); } catch { /* changed meanwhile: its event syncs again */ }
}
