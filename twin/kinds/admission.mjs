// @ts-check
// ServiceAccounts as a real cluster enforces and provides them:
// - the ServiceAccount admission plugin refuses a pod whose
//   spec.serviceAccountName (default "default") does not exist in its
//   namespace: 403 Forbidden, `pods "<name>" is forbidden: error looking up
//   service account <ns>/<sa>: serviceaccount "<sa>" not found` (a pod given
//   only generateName is named by it, as the apiserver's message does);
// - kube-controller-manager's serviceaccount controller makes a "default"
//   ServiceAccount in every namespace that is not terminating, and makes it
//   again when deleted. The twin does it synchronously on the store's events.
import { ApiError } from './errors.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../store/store.mjs').Store} Store */

const SAS = '/serviceaccounts';
const NAMESPACES = '/namespaces';

/**
 * The admission refusal of a pod whose ServiceAccount is missing, or undefined.
 * @param {Store} store @param {KubeObject} pod
 * @param {string} [displayName] the name the message gives (default: name, else generateName)
 * @returns {ApiError | undefined}
 */
export function serviceAccountRefusal(store, pod, displayName) {
  const ns = pod.metadata.namespace ?? 'default';
  const sa = String(pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default');
  if (store.get(SAS, ns, sa)) return undefined;
  const name = displayName ?? String(pod.metadata.name || pod.metadata.generateName || '');
  return new ApiError(403, 'Forbidden',
    `pods "${name}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`,
    { name, kind: 'pods' });
}

/** @param {string} ns @returns {KubeObject} */
const defaultAccount = (ns) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });

/**
 * Keeps a "default" ServiceAccount in every live namespace of the store.
 * @param {Store} store @returns {() => void} stops it
 */
export function keepDefaultServiceAccounts(store) {
  /** @param {string} ns */
  const ensure = (ns) => {
    const n = store.get(NAMESPACES, '', ns);
    if (!n || n.metadata.deletionTimestamp || store.get(SAS, ns, 'default')) return;
    try { store.create(SAS, defaultAccount(ns)); } catch { /* made meanwhile */ }
  };
  /** @param {StoreEvent} ev */
  const onEvent = (ev) => {
    if (ev.resource === NAMESPACES && ev.type !== 'DELETED') ensure(ev.object.metadata.name);
    else if (ev.resource === SAS && ev.type === 'DELETED' && ev.object.metadata.name === 'default') ensure(ev.object.metadata.namespace ?? '');
  };
  store.on('event', onEvent);
  for (const n of store.list(NAMESPACES)) ensure(n.metadata.name);
  return () => { store.off('event', onEvent); };
}
