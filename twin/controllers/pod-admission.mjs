// @ts-check
// What a workload controller (ReplicaSet, DaemonSet, Job) sees when the API
// server refuses one of its pods at admission (kinds/admission.mjs): no pod,
// and a Warning event FailedCreate on the owner, "Error creating: <refusal>",
// counted up when it repeats (the event recorder's aggregation). The controller
// tries again on a later sync, e.g. once the ServiceAccount exists.
import { randomBytes } from 'node:crypto';
import { serviceAccountRefusal } from '../kinds/admission.mjs';
import { nowIso } from './util.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/store.mjs').Store} Store */

const EVENTS = '/events';

/**
 * Whether the pod would pass admission; records FailedCreate on the owner when not.
 * @param {Store} store @param {KubeObject} owner @param {KubeObject} pod
 * @param {string} component e.g. replicaset-controller
 */
export function admitPod(store, owner, pod, component) {
  const refusal = serviceAccountRefusal(store, pod, String(pod.metadata.generateName || pod.metadata.name));
  if (!refusal) return true;
  recordWarning(store, owner, 'FailedCreate', `Error creating: ${refusal.message}`, component);
  return false;
}

/**
 * A Warning event on an object, or one more count of the same event.
 * @param {Store} store @param {KubeObject} owner @param {string} reason @param {string} message @param {string} component
 */
export function recordWarning(store, owner, reason, message, component) {
  const ns = owner.metadata.namespace ?? 'default';
  const now = nowIso();
  const same = store.list(EVENTS, ns).find((e) => e.involvedObject?.uid === owner.metadata.uid && e.reason === reason && e.message === message);
  try {
    if (same) {
      store.update(EVENTS, { ...same, count: (same.count ?? 1) + 1, lastTimestamp: now });
      return;
    }
    store.create(EVENTS, {
      apiVersion: 'v1', kind: 'Event',
      metadata: { name: `${owner.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: {
        kind: owner.kind, namespace: ns, name: owner.metadata.name, uid: owner.metadata.uid,
        apiVersion: owner.apiVersion, resourceVersion: owner.metadata.resourceVersion,
      },
      reason, message, type: 'Warning', count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component }, reportingComponent: component, reportingInstance: '',
    });
  } catch { /* the namespace is going away */ }
}
