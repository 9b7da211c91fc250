// @ts-check
// ClusterMesh state: are clusters a and b connected, and if not, why — in
// words close to what Cilium reports. Pure: reads the stores and asks who
// answers on an IP:port (the running data plane, or the plan when none runs).
//
// Contract (what the cilium stand-in writes, as the Helm chart renders it):
// - Secret kube-system/cilium-clustermesh of cluster X has one data key per
//   remote cluster, named after it (keys with a dot, like "<name>.etcd-client.crt",
//   are certificates and are ignored); its base64 value is the etcd config YAML
//   `endpoints:\n- https://IP:PORT\n` (further keys such as trusted-ca-file are
//   allowed). A host name instead of an IP is resolved through the cilium
//   DaemonSet's hostAliases, as the chart does with clustermesh.config.clusters[].ips.
// - A cluster's name and id: ConfigMap kube-system/cilium-config keys
//   `cluster-name`, `cluster-id`.
// - The CA: Secret kube-system/cilium-ca, key `ca.crt` (base64 PEM).
// - With KVStoreMesh (a kvstoremesh container in the clustermesh-apiserver
//   Deployment and Secret cilium-kvstoremesh), it is KVStoreMesh that connects to
//   the remote clusters: its Secret and the Deployment's hostAliases count (the
//   real chart points the agents' cilium-clustermesh at the local
//   clustermesh-apiserver.kube-system.svc and KVStoreMesh at <name>.<domain>:<port>).
// X connects to Y when X has Y's entry, its endpoint is answered by Y's ready
// clustermesh-apiserver, the answering cluster's CA is X's, and the names and
// ids are valid and distinct. The mesh is connected when both directions are.
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { plannedServedBy } from '../dataplane/plan.mjs';
import { KUBE_SYSTEM, ciliumConfig, deploymentHasReadyReplica, ipToNum } from './util.mjs';

/** @typedef {import('../store/store.mjs').Store} Store */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinKey} TwinKey */
/** @typedef {(ip: string, port: number) => TwinKey | undefined} ServedBy */

/** @type {WeakMap<Twin, ServedBy>} */
const registry = new WeakMap();

/** The data plane registers how to ask who answers on an IP:port. @param {Twin} twin @param {ServedBy | undefined} fn */
export function setServedBy(twin, fn) {
  if (fn) registry.set(twin, fn); else registry.delete(twin);
}

/** @param {string | undefined} b64 */
const decode = (b64) => (b64 === undefined ? undefined : Buffer.from(String(b64), 'base64').toString('utf8'));

/** SHA-256 (hex) of the decoded `ca.crt` of Secret kube-system/cilium-ca. @param {Store} store */
export function caFingerprint(store) {
  const pem = decode(store.get('/secrets', KUBE_SYSTEM, 'cilium-ca')?.data?.['ca.crt']);
  return pem === undefined ? undefined : createHash('sha256').update(pem).digest('hex');
}

/**
 * What connects a cluster to the remote ones: KVStoreMesh when it runs, else the agents.
 * @param {Store} store
 * @returns {{ secret: string, aliases: any[] }}
 */
function connector(store) {
  const spec = store.get('apps/deployments', KUBE_SYSTEM, 'clustermesh-apiserver')?.spec?.template?.spec;
  if ((spec?.containers ?? []).some((/** @type {any} */ c) => c.name === 'kvstoremesh') && store.get('/secrets', KUBE_SYSTEM, 'cilium-kvstoremesh')) {
    return { secret: 'cilium-kvstoremesh', aliases: spec.hostAliases ?? [] };
  }
  return { secret: 'cilium-clustermesh', aliases: store.get('apps/daemonsets', KUBE_SYSTEM, 'cilium')?.spec?.template?.spec?.hostAliases ?? [] };
}

/**
 * Remote clusters configured in the Secret of what connects the cluster
 * (cilium-kvstoremesh with KVStoreMesh, else cilium-clustermesh), with their
 * endpoint as written.
 * @param {Store} store
 * @returns {Array<{ name: string, endpoint?: string, error?: string }>}
 */
export function configuredRemotes(store) {
  const data = store.get('/secrets', KUBE_SYSTEM, connector(store).secret)?.data ?? {};
  const out = [];
  for (const [name, value] of Object.entries(data)) {
    if (name.includes('.')) continue;
    try {
      const cfg = parseYaml(decode(String(value)) ?? '');
      const endpoint = Array.isArray(cfg?.endpoints) ? String(cfg.endpoints[0] ?? '') : '';
      out.push(endpoint ? { name, endpoint } : { name, error: 'no endpoints in etcd configuration' });
    } catch (err) {
      out.push({ name, error: `invalid etcd configuration: ${/** @type {Error} */ (err).message}` });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Host and port of an endpoint URL; a host name goes through the hostAliases
 * of what connects (the clustermesh-apiserver Deployment or the cilium DaemonSet).
 * @param {Store} store @param {string} endpoint
 * @returns {{ ip: string, port: number } | undefined}
 */
function resolveEndpoint(store, endpoint) {
  let url;
  try { url = new URL(endpoint); } catch { return undefined; }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  let host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipToNum(host) === undefined) {
    const hit = connector(store).aliases.find((/** @type {any} */ a) => (a.hostnames ?? []).includes(host));
    if (!hit?.ip) return undefined;
    host = hit.ip;
  }
  return { ip: host, port };
}

/**
 * @typedef {{
 *   key: TwinKey,
 *   installed: boolean,
 *   name?: string,
 *   id?: number,
 *   caFingerprint?: string,
 *   apiserverReady: boolean,
 *   remotes: string[],
 *   configured: boolean,
 *   endpoint?: string,
 *   reachedCluster?: TwinKey,
 *   connected: boolean,
 *   reason?: string,
 * }} ClusterMeshView
 * @typedef {{ connected: boolean, reasons: string[], clusters: Record<TwinKey, ClusterMeshView> }} MeshState
 */

/**
 * @param {Twin} twin
 * @param {{ servedBy?: ServedBy }} [opts] who answers on an IP:port; defaults
 *   to the running data plane, else the plan
 * @returns {MeshState}
 */
export function meshState(twin, opts = {}) {
  const servedBy = opts.servedBy ?? registry.get(twin) ?? ((ip, port) => plannedServedBy(twin, ip, port));
  /** @type {TwinKey[]} */
  const keys = ['a', 'b'];
  /** @type {Record<string, ClusterMeshView>} */
  const views = {};
  for (const key of keys) {
    const store = twin.clusters[key].store;
    const cfg = ciliumConfig(store);
    const idRaw = cfg?.['cluster-id'];
    views[key] = {
      key,
      installed: !!cfg,
      name: cfg?.['cluster-name'] || undefined,
      id: idRaw === undefined || idRaw === '' ? undefined : Number(idRaw),
      caFingerprint: caFingerprint(store),
      apiserverReady: deploymentHasReadyReplica(store, KUBE_SYSTEM, 'clustermesh-apiserver'),
      remotes: configuredRemotes(store).map((r) => r.name),
      configured: false,
      connected: false,
    };
  }
  /** @param {TwinKey} k */
  const label = (k) => views[k].name ?? twin.clusters[k].context ?? k;

  /** @type {string[]} */
  const global = [];
  const a = views.a;
  const b = views.b;
  if (a.installed && b.installed) {
    for (const v of [a, b]) {
      if (!v.name) global.push(`cluster ${label(v.key)} has no cluster-name in cilium-config`);
      else if (v.name === 'default') global.push(`cluster ${label(v.key)} has the default name`);
      if (v.id === undefined || !Number.isInteger(v.id) || v.id < 1 || v.id > 255) {
        global.push(`cluster ${label(v.key)} has cluster ID ${v.id ?? 0} out of acceptable range (1-255)`);
      }
    }
    if (a.name && a.name === b.name) global.push('remote and local cluster have the same, non-unique name');
    if (a.id !== undefined && a.id === b.id) global.push('remote and local cluster have the same, non-unique ID');
    if (a.caFingerprint && b.caFingerprint && a.caFingerprint !== b.caFingerprint) {
      global.push(`Cilium CA certificates do not match between clusters ${label('a')} and ${label('b')}`);
    }
  }

  for (const [x, y] of /** @type {Array<[TwinKey, TwinKey]>} */ ([['a', 'b'], ['b', 'a']])) {
    const vx = views[x];
    const vy = views[y];
    const fail = (/** @type {string} */ reason) => { vx.reason = reason; };
    if (!vx.installed) { fail(`Cilium is not installed in cluster ${label(x)}`); continue; }
    if (!vy.installed) { fail(`Cilium is not installed in cluster ${label(y)}`); continue; }
    const remote = vy.name ? configuredRemotes(twin.clusters[x].store).find((r) => r.name === vy.name) : undefined;
    if (!remote) {
      fail(`cluster ${label(x)} is not configured to connect to cluster ${label(y)}`);
      continue;
    }
    vx.configured = true;
    vx.endpoint = remote.endpoint;
    if (remote.error || !remote.endpoint) { fail(`${label(x)} is not connected to cluster ${label(y)}: ${remote.error}`); continue; }
    const ep = resolveEndpoint(twin.clusters[x].store, remote.endpoint);
    if (!ep) { fail(`${label(x)} is not connected to cluster ${label(y)}: cannot resolve ${remote.endpoint}`); continue; }
    const addr = `${ep.ip}:${ep.port}`;
    const answering = servedBy(ep.ip, ep.port);
    if (!answering) {
      fail(`${label(x)} is not connected to cluster ${label(y)}: dial tcp ${addr}: connect: connection refused`);
      continue;
    }
    vx.reachedCluster = answering;
    const served = views[answering];
    if (served.caFingerprint !== vx.caFingerprint) {
      fail(`${label(x)} is not connected to cluster ${label(y)}: tls: failed to verify certificate: x509: certificate signed by unknown authority`);
      continue;
    }
    if (answering !== y || served.name !== vy.name) {
      fail(`${label(x)} is not connected to cluster ${label(y)}: remote cluster configuration required but not found`);
      continue;
    }
    if (global.length) { fail(`${label(x)} is not connected to cluster ${label(y)}: ${global[0]}`); continue; }
    vx.connected = true;
  }

  const reasons = [...new Set([...global, ...keys.map((k) => views[k].reason).filter((r) => typeof r === 'string')])];
  return {
    connected: a.connected && b.connected,
    reasons: a.connected && b.connected ? [] : reasons,
    clusters: /** @type {Record<TwinKey, ClusterMeshView>} */ (views),
  };
}
