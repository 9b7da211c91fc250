// @ts-check
// What a workload controller (ReplicaSet, DaemonSet, Job) sees when the API
// server refuses one of its pods at admission (kinds/admission.mjs): no pod,
// and a Warning event FailedCreate on the owner, "Error creating: <refusal>",
// counted up when it repeats (the event recorder's aggregation). The controller
// tries again on a later sync, e.g. once the ServiceAccount exists.
import { serviceAccountRefusal } from '../kinds/admission.mjs';
import { recordWarning } from './events.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/store.mjs').Store} Store */

/**
 * Whether the pod would pass admission; records FailedCreate on the owner when not.
 * @param {Store} store @param {KubeObject} owner @param {KubeObject} pod
 * @param {string} component e.g. replicaset-controller
 */
export function admitPod(store, owner, pod, component) {
  const refusal = serviceAccountRefusal(store, pod, String(pod.metadata.generateName || pod.metadata.name));
  if (!refusal) return true;
  recordWarning(store, owner, 'FailedCreate', `Error creating: ${refusal.message}`, { component });
  return false;
}
