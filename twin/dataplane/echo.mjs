// @ts-check
// What a request to a Service VIP reaches: Cilium's backend selection for
// (global) services, and the page the web-echo image serves.
import { ciliumConfig, ciliumVersion, mapSelectorMatches, podServes } from '../controllers/util.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinKey} TwinKey */
/** @typedef {import('../controllers/mesh.mjs').MeshState} MeshState */

/** @typedef {{ cluster: TwinKey, pod: KubeObject }} Backend */

/**
 * Annotation with its older alias (pkg/annotation).
 * @param {KubeObject} svc @param {string} key @param {string} alias
 */
function annotation(svc, key, alias) {
  const a = svc.metadata.annotations ?? {};
  return a[key] ?? a[alias];
}

/** @param {KubeObject} svc */
export const isGlobal = (svc) => String(annotation(svc, 'service.cilium.io/global', 'io.cilium/global-service') ?? '').toLowerCase() === 'true';
/** Global services are shared unless told otherwise. @param {KubeObject} svc */
export const isShared = (svc) => String(annotation(svc, 'service.cilium.io/shared', 'io.cilium/shared-service') ?? 'true').toLowerCase() !== 'false';
/** @param {KubeObject} svc */
export const affinityOf = (svc) => String(annotation(svc, 'service.cilium.io/affinity', 'io.cilium/service-affinity') ?? '').toLowerCase();

/**
 * Ready, non-terminating pods selected by the Service in its cluster.
 * @param {Twin} twin @param {TwinKey} key @param {KubeObject} svc @returns {Backend[]}
 */
export function localBackends(twin, key, svc) {
  return twin.clusters[key].store.list('/pods', svc.metadata.namespace ?? '')
    .filter((p) => podServes(p) && mapSelectorMatches(svc.spec?.selector, p.metadata.labels))
    .map((pod) => ({ cluster: key, pod }));
}

/**
 * Whether a literal `affinity: none` (or any value Cilium does not know)
 * drops remote backends: the 1.18.10+ regression (cilium/cilium#46623), which
 * the twin applies to 1.18.10 and later, and when the version is unknown.
 * @param {Twin} twin @param {TwinKey} key
 */
function noneDropsRemote(twin, key) {
  const v = ciliumVersion(twin.clusters[key].store);
  if (!v) return true;
  const [maj, min, patch] = v;
  return maj > 1 || min > 18 || (min === 18 && patch >= 10);
}

/**
 * The backends Cilium in cluster `key` programs for Service `svc`:
 * local ones, plus the remote cluster's when the service is global, the mesh
 * is connected, and the remote Service of the same namespace/name is global
 * and shared; then service.cilium.io/affinity picks among them.
 * @param {Twin} twin @param {TwinKey} key @param {KubeObject} svc @param {() => MeshState} mesh
 * @returns {{ backends: Backend[], local: Backend[], remote: Backend[] }}
 */
export function selectBackends(twin, key, svc, mesh) {
  const local = localBackends(twin, key, svc);
  if (!isGlobal(svc)) return { backends: local, local, remote: [] };
  /** @type {Backend[]} */
  let remote = [];
  const other = /** @type {TwinKey} */ (key === 'a' ? 'b' : 'a');
  const remoteSvc = twin.clusters[other]?.store.get('/services', svc.metadata.namespace ?? '', svc.metadata.name);
  if (remoteSvc && isGlobal(remoteSvc) && isShared(remoteSvc) && mesh().connected) {
    remote = localBackends(twin, other, remoteSvc);
  }
  const affinity = affinityOf(svc);
  let backends;
  switch (affinity) {
    case 'local': backends = local.length ? local : remote; break;
    case 'remote': backends = remote.length ? remote : local; break;
    case '': backends = [...local, ...remote]; break;
    default: backends = noneDropsRemote(twin, key) ? local : [...local, ...remote];
  }
  return { backends, local, remote };
}

/**
 * The tag of an image reference: "mcbtaguiad/web-echo:cluster-a" -> "cluster-a".
 * @param {string} image
 */
export function imageTag(image) {
  const noDigest = String(image).split('@')[0];
  const last = noDigest.split('/').pop() ?? '';
  const i = last.indexOf(':');
  return i >= 0 ? last.slice(i + 1) : 'latest';
}

/**
 * The page of mcbtaguiad/web-echo: its <h3> is the image tag, split on - and _,
 * each word capitalised ("cluster-a" -> "Cluster A").
 * @param {string} image
 */
export function echoPage(image) {
  const title = imageTag(image).split(/[-_]+/).filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
  return `<html>\n<!-- <h2>  </h2> -->\n<h3>${title}</h3>\n<p>Look at me Mom, I'm a DevOps.</p>\n`;
}

/** Cluster name for the debug header: cilium-config's cluster-name, else the context. @param {Twin} twin @param {TwinKey} key */
export function clusterName(twin, key) {
  return ciliumConfig(twin.clusters[key].store)?.['cluster-name'] || twin.clusters[key].context || key;
}
