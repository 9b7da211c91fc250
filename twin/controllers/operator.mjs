// @ts-check
// cilium-operator's start-up duty: when Deployment kube-system/cilium-operator
// has a ready replica, it creates (or brings up to date) Cilium's CRDs; the API
// server accepts their names and marks them Established `crdEstablishMs` later.
// Removing Cilium leaves the CRDs behind, as in a real cluster.
import { ciliumCrds } from './crds.mjs';
import { KUBE_SYSTEM, Timers, deploymentHasReadyReplica, findCondition, nowIso } from './util.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinCluster} TwinCluster */

const CRDS = 'apiextensions.k8s.io/customresourcedefinitions';

/** @param {Twin} twin */
export function startOperator(twin) {
  const parts = Object.values(twin.clusters).map((c) => new ClusterOperator(twin, c));
  return { stop() { for (const p of parts) p.stop(); } };
}

class ClusterOperator {
  /** @param {Twin} twin @param {TwinCluster} cluster */
  constructor(twin, cluster) {
    this.twin = twin;
    this.store = cluster.store;
    this.timers = new Timers();
    /** Registered during the current run of the operator. */
    this.registered = false;
    /** @param {StoreEvent} ev */
    this.onEvent = (ev) => {
      if (ev.resource === 'apps/deployments' && ev.object.metadata.namespace === KUBE_SYSTEM &&
        ev.object.metadata.name === 'cilium-operator') this.check();
    };
    this.store.on('event', this.onEvent);
    this.check();
  }

  stop() {
    this.store.off('event', this.onEvent);
    this.timers.stop();
  }

  check() {
    const ready = deploymentHasReadyReplica(this.store, KUBE_SYSTEM, 'cilium-operator');
    if (!ready) {
      this.registered = false; // a later start registers again
      return;
    }
    if (this.registered) return;
    this.registered = true;
    this.register();
  }

  register() {
    for (const crd of ciliumCrds()) {
      const existing = this.store.get(CRDS, '', crd.metadata.name);
      if (!existing) {
        const storage = crd.spec.versions.find((/** @type {any} */ v) => v.storage)?.name;
        this.store.create(CRDS, {
          ...crd,
          status: { acceptedNames: { kind: '', plural: '' }, conditions: [], storedVersions: [storage] },
        });
      } else if (JSON.stringify(existing.spec) !== JSON.stringify(crd.spec)) {
        existing.spec = crd.spec;
        this.store.update(CRDS, existing);
      }
    }
    this.timers.ensure('establish', this.twin.options.delays.crdEstablishMs, () => this.establish());
  }

  /** What the apiextensions server does once the names are checked. */
  establish() {
    for (const crd of ciliumCrds()) {
      const o = this.store.get(CRDS, '', crd.metadata.name);
      if (!o) continue;
      const st = o.status ?? {};
      if (findCondition(st.conditions, 'Established')?.status === 'True') continue;
      const now = nowIso();
      const storage = o.spec.versions.find((/** @type {any} */ v) => v.storage)?.name;
      o.status = {
        acceptedNames: structuredClone(o.spec.names),
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
          { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
        ],
        storedVersions: [...new Set([...(st.storedVersions ?? []), storage].filter(Boolean))],
      };
      this.store.update(CRDS, o);
    }
  }
}
