// @ts-check
// The whole real backend: two clusters (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok nodes; contexts cluster-a and
// cluster-b in one kubeconfig), and in place of what runs on a real node:
// the real cilium-operator for the chart's Deployment (operator-watch.mjs),
// certgen's work for the chart's certgen Job pods (certgen-watch.mjs),
// the mirror of both clusters (mirror.mjs) and, on it, the twin's data plane
// (LoadBalancer IPs and clustermesh endpoints on loopback) and agent exec
// model. `npm run real` and test/real use it.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterBinaries, startCluster } from './cluster.mjs';
import { watchOperator } from './operator-watch.mjs';
import { watchCertgen } from './certgen-watch.mjs';
import { startMirror } from './mirror.mjs';
import { realBinary, k3sVersion } from '../build-real.mjs';
import { renderKubeconfig, writeKubeconfig } from '../../twin/kubeconfig.mjs';
import { startDataplane } from '../../twin/dataplane/index.mjs';
import { execModel } from '../../twin/agents/index.mjs';

/** @typedef {import('../../twin/types.js').TwinKey} TwinKey */
/** @typedef {{ nodes: { count: number, ipBase: string }, podCidr: string, serviceCidr: string }} ClusterShape */

/** The two clusters, CIDRs as the twin's clusters a and b. */
export const CLUSTERS = /** @type {Record<TwinKey, ClusterShape>} */ ({
  a: { nodes: { count: 3, ipBase: '127.0.10.1' }, podCidr: '10.42.0.0/16', serviceCidr: '10.96.0.0/12' },
  b: { nodes: { count: 3, ipBase: '127.0.20.1' }, podCidr: '10.43.0.0/16', serviceCidr: '10.112.0.0/12' },
});

/** The binaries the backend runs, and those not built ("kwok v0.8.0"). */
export function backendBinaries() {
  const { bins, missing } = clusterBinaries({ nodes: true });
  const operator = realBinary('cilium-operator-generic');
  return { bins: { ...bins, operator }, missing: [...missing, ...(operator.built ? [] : [`${operator.bin} ${operator.version}`])] };
}

/**
 * @typedef {object} Backend
 * @property {string} dir
 * @property {string} kubeconfig both contexts, current cluster-a
 * @property {Record<TwinKey, import('./cluster.mjs').RealCluster>} clusters
 * @property {ReturnType<typeof startMirror>} mirror
 * @property {import('../../twin/dataplane/index.mjs').DataplaneHandle} dataplane
 * @property {() => Promise<void>} stop stops everything and removes `dir`
 */

/**
 * Starts the backend in `dir` (made if missing, removed by stop).
 * @param {{ dir: string, clusters?: Record<TwinKey, ClusterShape>, contexts?: Record<TwinKey, string>, readyMs?: number,
 *   log?: (line: string) => void }} o
 *   contexts: the kubeconfig's context names (default cluster-a, cluster-b);
 *   log: one line per thing the stand-ins start, stop or fail at
 * @returns {Promise<Backend>}
 */
export async function startBackend(o) {
  const { bins, missing } = backendBinaries();
  if (missing.length) throw new Error(`not built: ${missing.join(', ')} (npm run build:real)`);
  const shapes = o.clusters ?? CLUSTERS;
  const readyMs = o.readyMs ?? 120_000;
  const log = o.log ?? (() => {});
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  /** @type {Array<{ stop: () => Promise<void> }>} stopped last first */
  const parts = [];
  const stop = async () => {
    for (const p of [...parts].reverse()) await p.stop();
    await rm(o.dir, { recursive: true, force: true });
  };
  try {
    const version = k3sVersion(bins.apiserver.version);
    /** @type {ReturnType<typeof startMirror> | undefined} */
    let mirror;
    /** The agent exec model of cluster `key`, answering from the mirror. @param {TwinKey} key */
    const modelFor = (key) => {
      if (!mirror) throw new Error('the mirror is not started yet');
      return execModel({ store: mirror.twin.clusters[key].store, twin: mirror.twin, key, k3sVersion: version });
    };
    /** @type {Record<string, import('./cluster.mjs').RealCluster>} */
    const clusters = {};
    for (const [key, shape] of Object.entries(shapes)) {
      clusters[key] = await startCluster({ dir: join(o.dir, key), key, ...shape, readyMs, exec: { model: () => modelFor(/** @type {TwinKey} */ (key)) } });
      parts.push(clusters[key]);
    }
    for (const c of Object.values(clusters)) {
      parts.push(watchOperator({ cluster: c, bin: bins.operator.path, host: '127.0.0.1', readyMs, log: (l) => log(`${c.dir}: ${l}`) }));
      parts.push(watchCertgen({ cluster: c, log: (l) => log(`${c.dir}: ${l}`) }));
    }
    const contexts = Object.keys(clusters).map((k) => o.contexts?.[/** @type {TwinKey} */ (k)] ?? `cluster-${k}`);
    const kubeconfig = join(o.dir, 'kubeconfig.yaml');
    await writeKubeconfig(kubeconfig, renderKubeconfig(Object.values(clusters).map((c, i) => ({
      name: contexts[i], server: c.server, caCert: c.pki.caCert, clientCert: c.pki.clientCert, clientKey: c.pki.clientKey,
    })), contexts[0]));
    const m = startMirror({
      clusters: /** @type {any} */ (Object.fromEntries(Object.entries(clusters).map(([k, c], i) => [k, { context: contexts[i], server: c.server, pki: c.pki }]))),
      k3sVersion: version, log,
    });
    mirror = m;
    parts.push(m);
    await m.synced();
    const dataplane = await startDataplane(m.twin, { onFatal: (e) => log(`data plane: ${e.message}`) });
    parts.push(dataplane);
    return { dir: o.dir, kubeconfig, clusters: /** @type {Record<TwinKey, import('./cluster.mjs').RealCluster>} */ (clusters), mirror: m, dataplane, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
