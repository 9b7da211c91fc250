// @ts-check
// The real clusters as the twin's code sees a twin: a twin Store per cluster
// kept in step with that cluster's real kube-apiserver by listing, twice a
// second, the objects the twin's agent exec model (twin/agents) and data plane
// (twin/dataplane) read. The objects are stored as the apiserver returned them
// (uid, resourceVersion, generation), and a store event is emitted only for
// what changed. Only reads: nothing is written back. While an apiserver does
// not answer, its store keeps the last state it had (as agents keep theirs).
import { Agent } from 'node:https';
import { adminRequest } from './apiserver.mjs';
import { Store } from '../../twin/store/store.mjs';

/** What is mirrored: the twin store's resource name and the real API's list path. */
export const MIRRORED = /** @type {const} */ ([
  ['/nodes', '/api/v1/nodes'],
  ['/pods', '/api/v1/pods'],
  ['/services', '/api/v1/services'],
  ['/secrets', '/api/v1/namespaces/kube-system/secrets'],
  ['/configmaps', '/api/v1/namespaces/kube-system/configmaps'],
  ['apps/deployments', '/apis/apps/v1/deployments'],
  ['apps/daemonsets', '/apis/apps/v1/daemonsets'],
  ['cilium.io/ciliuml2announcementpolicies', '/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies'],
]);

/** @typedef {import('../../twin/store/types.js').KubeObject} KubeObject */
/** @typedef {import('../../twin/types.js').TwinKey} TwinKey */
/** @typedef {import('../../twin/types.js').Twin} Twin */

/**
 * @typedef {object} MirroredCluster
 * @property {string} context its kubeconfig context ("cluster-a")
 * @property {string} server https://127.x:port
 * @property {import('../../twin/pki.mjs').ClusterPki} pki the admin client certificate
 */

/**
 * GET `path` over a kept-alive agent: the parsed body, or undefined for 404 (a
 * CRD not registered yet).
 * @param {MirroredCluster} c @param {Agent} agent @param {string} path
 * @returns {Promise<any>}
 */
async function list(c, agent, path) {
  const r = await adminRequest(c.server, c.pki, 'GET', path, undefined, { agent, userAgent: 'real-backend/mirror', ms: 5000 });
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`);
  return JSON.parse(r.body);
}

/**
 * Makes `store`'s table of `resource` hold exactly `items`, emitting ADDED,
 * MODIFIED (a new resourceVersion) and DELETED events as the twin's store does.
 * @param {Store} store @param {string} resource @param {KubeObject[]} items
 */
export function syncTable(store, resource, items) {
  const table = store.table(resource);
  const seen = new Set();
  for (const o of items) {
    const key = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    seen.add(key);
    const old = table.get(key);
    if (old?.metadata.resourceVersion === o.metadata.resourceVersion) continue;
    table.set(key, o);
    store.emit('event', { type: old ? 'MODIFIED' : 'ADDED', resource, object: structuredClone(o) });
  }
  for (const [key, o] of [...table]) {
    if (seen.has(key)) continue;
    table.delete(key);
    store.emit('event', { type: 'DELETED', resource, object: o });
  }
}

/** The nodes a twin cluster has: name and InternalIP, from the mirrored Nodes. @param {Store} store */
function nodesOf(store) {
  return store.list('/nodes').map((n) => ({
    name: n.metadata.name,
    ip: (n.status?.addresses ?? []).find((/** @type {any} */ a) => a.type === 'InternalIP')?.address ?? '',
  }));
}

/**
 * @param {{ clusters: Record<TwinKey, MirroredCluster>, k3sVersion: string, intervalMs?: number,
 *   log?: (line: string) => void }} o log: when a cluster stops or starts answering
 * @returns {{ twin: Twin, synced: () => Promise<void>, stop: () => Promise<void> }}
 *   synced: resolves after a whole round of lists that began after the call
 */
export function startMirror(o) {
  const intervalMs = o.intervalMs ?? 500;
  const log = o.log ?? (() => {});
  const keys = /** @type {TwinKey[]} */ (Object.keys(o.clusters));
  /** @type {Record<string, any>} */
  const clusters = {};
  for (const key of keys) {
    const store = new Store(`real-${key}`);
    clusters[key] = { key, context: o.clusters[key].context, store, get nodes() { return nodesOf(store); } };
  }
  const twin = /** @type {Twin} */ (/** @type {unknown} */ ({ options: { k3sVersion: o.k3sVersion }, clusters }));
  const agents = Object.fromEntries(keys.map((k) => [k, new Agent({ keepAlive: true, maxSockets: 4 })]));
  /** @type {Record<string, string>} the last failure per cluster, '' while it answers */
  const failing = Object.fromEntries(keys.map((k) => [k, '']));
  let stopped = false;
  /** @type {Array<() => void>} waiting for the end of the next round */
  let waiters = [];

  /** @param {TwinKey} key */
  async function pull(key) {
    const c = o.clusters[key];
    try {
      const lists = await Promise.all(MIRRORED.map(([, path]) => list(c, agents[key], path)));
      MIRRORED.forEach(([resource], i) => {
        const l = lists[i];
        const kind = String(l?.kind ?? '').replace(/List$/, '');
        syncTable(clusters[key].store, resource, (l?.items ?? []).map((/** @type {any} */ it) => ({ apiVersion: l.apiVersion, kind, ...it })));
      });
      if (failing[key]) log(`mirror: ${c.context} answers again`);
      failing[key] = '';
    } catch (e) {
      const why = /** @type {Error} */ (e).message;
      if (!failing[key]) log(`mirror: ${c.context} does not answer (${why}); keeping its last state`);
      failing[key] = why;
    }
  }

  const loop = (async () => {
    while (!stopped) {
      const round = waiters;
      waiters = [];
      await Promise.all(keys.map(pull));
      for (const w of round) w();
      if (!stopped) await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();

  return {
    twin,
    synced: () => new Promise((resolve) => { waiters.push(resolve); }),
    async stop() {
      stopped = true;
      await loop;
      for (const w of waiters) w();
      for (const a of Object.values(agents)) a.destroy();
    },
  };
}
