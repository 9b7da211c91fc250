// @ts-check
// What a Cilium agent and a KVStoreMesh replica of the twin know, as the JSON
// of Cilium's API models (api/v1/models: StatusResponse, RemoteCluster,
// Endpoint, field names as their json tags): read from the cluster's store and,
// for the remote clusters, from the twin's mesh state (controllers/mesh.mjs),
// so they say "not connected" exactly when the twin's mesh is not.
import { meshState } from '../controllers/mesh.mjs';
import { KUBE_SYSTEM, ciliumConfig, deploymentHasReadyReplica } from '../controllers/util.mjs';

/** @typedef {import('../store/store.mjs').Store} Store */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinKey} TwinKey */

/**
 * Where an agent lives: its cluster's store, and the twin with both clusters
 * when there is one (an API server started alone knows no remote cluster).
 * @typedef {{ store: Store, twin?: Twin, key?: TwinKey, k3sVersion?: string }} AgentWorld
 */

const WAITING = 'Waiting for initial connection to be established';
/** A zero strfmt.DateTime as Go marshals it (date-time fields are never omitted). */
const ZERO_TIME = '0001-01-01T00:00:00.000Z';
const DECODE = (/** @type {unknown} */ b64) => Buffer.from(String(b64 ?? ''), 'base64').toString('utf8');

/** Remote clusters named in a clustermesh Secret (keys without a dot whose config has endpoints). @param {Store} store @param {string} secret */
export function secretClusters(store, secret) {
  const data = store.get('/secrets', KUBE_SYSTEM, secret)?.data;
  if (!data) return undefined;
  const local = ciliumConfig(store)?.['cluster-name'];
  return Object.keys(data).filter((n) => !n.includes('.') && n !== local && DECODE(data[n]).includes('endpoints:')).sort();
}

/** KVStoreMesh runs: the clustermesh-apiserver Deployment has a kvstoremesh container. @param {Store} store */
export function kvstoremeshEnabled(store) {
  const d = store.get('apps/deployments', KUBE_SYSTEM, 'clustermesh-apiserver');
  return (d?.spec?.template?.spec?.containers ?? []).some((/** @type {any} */ c) => c.name === 'kvstoremesh');
}

/** Counts of what a cluster shares with the mesh. @param {Store} store */
function shared(store) {
  const pods = store.list('/pods').filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  const agents = pods.filter((p) => p.metadata.namespace === KUBE_SYSTEM && p.metadata.labels?.['k8s-app'] === 'cilium');
  const eps = pods.filter((p) => !p.spec?.hostNetwork);
  const identities = new Set(eps.map((p) => `${p.metadata.namespace}/${JSON.stringify(Object.entries(p.metadata.labels ?? {}).filter(([k]) => k !== 'pod-template-hash').sort())}`));
  const services = store.list('/services').filter((s) => s.metadata.annotations?.['service.cilium.io/global'] === 'true' && s.metadata.annotations?.['service.cilium.io/shared'] !== 'false');
  return { nodes: agents.length, endpoints: eps.length, identities: identities.size, services: services.length };
}

/**
 * The KVStoreMesh (or, without it, the agent's own) connection to each remote cluster.
 * @param {AgentWorld} w @param {string[]} names @param {boolean} viaKvstoremesh the model of an agent behind a local KVStoreMesh
 * @returns {any[]} RemoteCluster models
 */
export function remoteClusters(w, names, viaKvstoremesh) {
  const mesh = w.twin && w.key ? meshState(w.twin) : undefined;
  const self = mesh && w.key ? mesh.clusters[w.key] : undefined;
  const peerKey = w.key === 'a' ? 'b' : 'a';
  const peer = mesh ? mesh.clusters[peerKey] : undefined;
  const localReady = deploymentHasReadyReplica(w.store, KUBE_SYSTEM, 'clustermesh-apiserver');
  return names.map((name) => {
    /** @type {Record<string, any>} */
    const rc = { name };
    let retrieved = false;
    let connected = false;
    let status = WAITING;
    if (self && peer && peer.name === name) {
      const reason = self.reason ?? '';
      const why = reason.replace(/^.*? is not connected to cluster [^:]+: /, '');
      if (self.connected) { connected = true; retrieved = true; status = ''; } else if (/remote cluster configuration required but not found/.test(reason)) {
        connected = true;
      } else if (self.configured) {
        status = why || WAITING;
      }
    }
    if (viaKvstoremesh) {
      // The agent talks to the local clustermesh-apiserver; the remote's data is there once KVStoreMesh has it.
      if (!localReady) { connected = false; retrieved = false; status = WAITING; } else { status = connected ? '' : status; connected = true; }
    }
    const ready = connected && retrieved;
    rc.connected = connected || undefined;
    rc.ready = ready || undefined;
    if (!ready && status) rc.status = status;
    if (connected) {
      rc.config = { required: true, retrieved, ...(retrieved && peer?.id ? { 'cluster-id': peer.id } : {}), ...(viaKvstoremesh ? { kvstoremesh: true } : {}), 'service-exports-enabled': false };
      if (retrieved) rc.synced = { nodes: true, endpoints: true, identities: true, services: true };
    }
    if (ready && w.twin) {
      const c = shared(w.twin.clusters[peerKey].store);
      Object.assign(rc, { 'num-nodes': c.nodes || undefined, 'num-endpoints': c.endpoints || undefined, 'num-identities': c.identities || undefined, 'num-shared-services': c.services || undefined });
    }
    if (!ready) rc['num-failures'] = 1;
    rc['last-failure'] = ready ? ZERO_TIME : new Date().toISOString();
    return JSON.parse(JSON.stringify(rc));
  });
}

/** `cilium status -o json` of the agent on `node`. @param {AgentWorld} w @param {string} node @returns {Record<string, any>} */
export function agentStatus(w, node) {
  const cfg = ciliumConfig(w.store) ?? {};
  const clusterName = cfg['cluster-name'] || 'default';
  const nodes = w.store.list('/nodes').map((n) => n.metadata.name).sort();
  const agents = w.store.list('/pods', KUBE_SYSTEM).filter((p) => p.metadata.labels?.['k8s-app'] === 'cilium' && p.status?.phase === 'Running');
  const healthy = new Set(agents.map((p) => p.spec?.nodeName));
  const ip = (/** @type {string} */ n) => w.store.get('/nodes', '', n)?.status?.addresses?.find((/** @type {any} */ a) => a.type === 'InternalIP')?.address;
  const version = (w.k3sVersion ?? 'v1.33.5+k3s1').replace(/^v(\d+\.\d+).*$/, '$1');
  const kpr = String(cfg['kube-proxy-replacement'] ?? 'false') === 'true';
  const unreachable = nodes.filter((n) => !healthy.has(n));
  const since = agents.find((p) => p.spec?.nodeName === node)?.status?.startTime ?? ZERO_TIME;
  const ok = (/** @type {number} */ n) => ({ 'last-failure-timestamp': ZERO_TIME, 'last-success-timestamp': new Date(Date.parse(since) || 0).toISOString(), 'success-count': n });
  const podIps = w.store.list('/pods').filter((p) => p.spec?.nodeName === node && !p.spec?.hostNetwork && p.status?.podIP).map((p) => String(p.status.podIP));
  // Every field as Go marshals the models: those without omitempty are there even when nil (null).
  /** @type {Record<string, any>} */
  const s = {
    cilium: { state: 'Ok', msg: 'Cilium is OK' },
    cluster: {
      ciliumHealth: { state: 'Ok', msg: 'Health check OK' },
      nodes: nodes.map((n) => ({ name: `${clusterName}/${n}`, 'primary-address': { ipv4: { enabled: true, ip: ip(n) } }, 'secondary-addresses': null })),
      self: `${clusterName}/${node}`,
    },
    controllers: [
      { name: 'cilium-health-ep', status: ok(10) },
      { name: 'sync-lb-maps-with-k8s-services', status: ok(1) },
    ],
    'datapath-mode': 'veth',
    ipam: { ipv4: podIps, ipv6: null },
    'kube-proxy-replacement': {
      mode: kpr ? 'True' : 'False', devices: ['eth0'], deviceList: [{ name: 'eth0', ip: [ip(node)] }],
      features: { annotations: null, nodePort: kpr ? { enabled: true } : {} },
    },
    kubernetes: { state: 'Ok', msg: `${version} (${w.k3sVersion ?? 'v1.33.5+k3s1'}) [linux/amd64]`, 'k8s-api-versions': ['cilium/v2::CiliumNode', 'core/v1::Namespace', 'core/v1::Pods', 'core/v1::Service', 'discovery/v1::EndpointSlice'] },
    kvstore: { state: 'Disabled', msg: 'Disabled' },
    'cni-chaining': { mode: 'none' },
    routing: { 'inter-host-routing-mode': cfg['routing-mode'] === 'native' ? 'Native' : 'Tunnel', 'tunnel-protocol': cfg['tunnel-protocol'] || 'vxlan' },
  };
  if (unreachable.length) {
    s.cluster.ciliumHealth = { state: 'Warning', msg: `${unreachable.length}/${nodes.length} nodes unreachable` };
  }
  const names = secretClusters(w.store, 'cilium-clustermesh');
  if (names) s['cluster-mesh'] = { clusters: remoteClusters(w, names, kvstoremeshEnabled(w.store)) };
  return s;
}

/** `cilium endpoint list -o json` of the agent on `node`: its host and health endpoints and its pods. @param {AgentWorld} w @param {string} node */
export function agentEndpoints(w, node) {
  const pods = w.store.list('/pods').filter((p) => p.spec?.nodeName === node && !p.spec?.hostNetwork && !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  /** @returns {Record<string, any>} */
  const ep = (/** @type {number} */ id, /** @type {string[]} */ labels, /** @type {string} */ state, /** @type {Record<string, any>} */ extra = {}) => ({
    id, spec: { 'label-configuration': {} },
    status: { state, identity: { id: id === 1 ? 1 : id === 4 ? 4 : 10000 + id, labels }, labels: { 'security-relevant': labels }, health: { overallHealth: state === 'ready' ? 'OK' : 'Pending', bpf: 'OK', policy: 'OK', connected: true }, ...extra },
  });
  const out = [ep(1, ['reserved:host'], 'ready'), ep(4, ['reserved:health'], 'ready')];
  pods.forEach((p, i) => {
    const labels = [`k8s:io.kubernetes.pod.namespace=${p.metadata.namespace}`, ...Object.entries(p.metadata.labels ?? {}).filter(([k]) => k !== 'pod-template-hash').map(([k, v]) => `k8s:${k}=${v}`)].sort();
    const state = p.status?.phase === 'Running' ? 'ready' : 'waiting-for-identity';
    out.push(ep(100 + i, labels, state, {
      'external-identifiers': { 'k8s-namespace': p.metadata.namespace, 'k8s-pod-name': p.metadata.name, 'pod-name': `${p.metadata.namespace}/${p.metadata.name}` },
      networking: { addressing: p.status?.podIP ? [{ ipv4: p.status.podIP }] : [], 'host-addressing': {} },
    }));
  });
  return out;
}

/** `clustermesh-apiserver kvstoremesh-dbg status -o json`: the remote clusters in Secret cilium-kvstoremesh. @param {AgentWorld} w */
export function kvstoremeshStatus(w) {
  return remoteClusters(w, secretClusters(w.store, 'cilium-kvstoremesh') ?? [], false);
}
