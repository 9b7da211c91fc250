// @ts-check
// Warning events as the event recorders of kubelets and controllers write them
// (core/v1 Event: involvedObject, reason, message, count, source), for the
// twin's store and, as a body to POST, for a real apiserver.
import { randomBytes } from 'node:crypto';
import { nowIso } from './util.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/store.mjs').Store} Store */
/** @typedef {{ component: string, host?: string }} EventSource who records it: "kubelet" on a node, or a controller */

const EVENTS = '/events';

/**
 * A new Warning event about `obj`.
 * @param {KubeObject} obj @param {string} reason @param {string} message @param {EventSource} source
 * @returns {KubeObject}
 */
export function warningEvent(obj, reason, message, source) {
  const ns = obj.metadata.namespace ?? 'default';
  const now = nowIso();
  return {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
    involvedObject: {
      kind: obj.kind, namespace: ns, name: obj.metadata.name, uid: obj.metadata.uid,
      apiVersion: obj.apiVersion, resourceVersion: obj.metadata.resourceVersion,
    },
    reason, message, type: 'Warning', count: 1, firstTimestamp: now, lastTimestamp: now,
    source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
    reportingComponent: source.component, reportingInstance: source.host ?? '',
  };
}

/**
 * Records a Warning event about `obj` in the twin's store. The same event
 * again counts up (the recorder's aggregation), or with `once` is left as it is.
 * @param {Store} store @param {KubeObject} obj @param {string} reason @param {string} message
 * @param {EventSource} source @param {{ once?: boolean }} [o]
 */
export function recordWarning(store, obj, reason, message, source, o = {}) {
  const ns = obj.metadata.namespace ?? 'default';
  const same = store.list(EVENTS, ns).find((e) => e.involvedObject?.uid === obj.metadata.uid && e.reason === reason && e.message === message);
  try {
    if (!same) store.create(EVENTS, warningEvent(obj, reason, message, source));
    else if (!o.once) store.update(EVENTS, { ...same, count: (same.count ?? 1) + 1, lastTimestamp: nowIso() });
  } catch { /* the namespace is going away */ }
}
