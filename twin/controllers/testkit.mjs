// @ts-check
// For tests of the controllers and the data plane: a Twin made of two Stores
// and their nodes (no API server), and the objects Helm, K3s and the cilium
// CLI would write, written straight into the stores.
import { Store } from '../store/store.mjs';

/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinKey} TwinKey */
/** @typedef {import('../types.js').TwinDelays} TwinDelays */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */

/**
 * The fake has no Namespace objects: every namespace an object is written to
 * exists, and has the "default" ServiceAccount the API server's admission asks
 * for (kinds/admission.mjs) as soon as something is written there.
 * @param {Store} store
 */
function withDefaultAccounts(store) {
  store.on('event', (/** @type {import('../store/types.js').StoreEvent} */ ev) => {
    const ns = ev.object.metadata.namespace;
    if (!ns || ev.type === 'DELETED' || store.get('/serviceaccounts', ns, 'default')) return;
    store.create('/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
  });
  return store;
}

/**
 * @param {{ nodeIpBase?: Record<TwinKey, string>, nodeCount?: number, delays?: Partial<TwinDelays>, servicelb?: boolean }} [opts]
 * @returns {Twin}
 */
export function fakeTwin(opts = {}) {
  const nodeCount = opts.nodeCount ?? 2;
  const base = opts.nodeIpBase ?? { a: '127.90.1.1', b: '127.90.2.1' };
  const delays = { podReadyMs: 5, podTerminateMs: 5, crdEstablishMs: 5, lbAssignMs: 5, ...(opts.delays ?? {}) };
  /** @param {TwinKey} key */
  const cluster = (key) => {
    const [p0, p1, p2, p3] = base[key].split('.').map(Number);
    const nodes = Array.from({ length: nodeCount }, (_, i) => ({
      name: i === 0 ? `k3s-${key}-server` : `k3s-${key}-agent-${i}`,
      ip: `${p0}.${p1}.${p2}.${p3 + i}`,
    }));
    const server = {
      url: 'https://127.0.0.1:0', port: 0, faults: { latencyMs: 0, errorRate: 0 },
      async stop() {}, async start() {}, stats: () => ({ requests: 0, reads: 0, writes: 0, byMethod: {} }), resetStats() {},
    };
    return { key, context: `cluster-${key}`, store: withDefaultAccounts(new Store(key)), server, nodes, k3sKubeconfig: '' };
  };
  return {
    options: {
      dir: '/nonexistent', contexts: { a: 'cluster-a', b: 'cluster-b' }, k3sVersion: 'v1.33.5+k3s1',
      nodeCount, nodeIpBase: base, delays, faults: { latencyMs: 0, errorRate: 0 },
      ...(opts.servicelb ? { servicelb: true } : {}),
    },
    dir: '/nonexistent',
    kubeconfig: '',
    clusters: { a: cluster('a'), b: cluster('b') },
    async stop() {},
  };
}

/**
 * Polls until `fn` returns a truthy value; throws with `what` after `ms`
 * (times the tests' TEST_TIME_FACTOR, see test/support/time.mjs).
 * @template T @param {() => T} fn @param {string} what @param {number} [ms]
 * @returns {Promise<NonNullable<T>>}
 */
export async function waitFor(fn, what, ms = 3000) {
  const end = Date.now() + ms * (Number(process.env.TEST_TIME_FACTOR) || 1);
  for (;;) {
    const v = fn();
    if (v) return /** @type {NonNullable<T>} */ (v);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A Deployment as kubectl apply would create it.
 * @param {string} ns @param {string} name @param {{ image?: string, replicas?: number, labels?: Record<string,string>, hostNetwork?: boolean }} [o]
 * @returns {KubeObject}
 */
export function deployment(ns, name, o = {}) {
  const labels = o.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels },
        spec: {
          ...(o.hostNetwork ? { hostNetwork: true } : {}),
          containers: [{ name, image: o.image ?? `example/${name}:v1`, ports: [{ containerPort: 80 }] }],
        },
      },
    },
  };
}

/**
 * What `cilium install` (Helm) writes that the controllers look at.
 * @param {Twin} twin @param {TwinKey} key
 * @param {{ name?: string, id?: number, podCidr?: string, l2?: boolean, version?: string, ca?: string }} [o]
 */
export function installCilium(twin, key, o = {}) {
  const s = twin.clusters[key].store;
  const name = o.name ?? `cluster-${key}`;
  const version = o.version ?? '1.19.3';
  s.create('/configmaps', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' },
    data: {
      'cluster-name': name,
      'cluster-id': String(o.id ?? (key === 'a' ? 1 : 2)),
      'cluster-pool-ipv4-cidr': o.podCidr ?? (key === 'a' ? '10.42.0.0/16' : '10.43.0.0/16'),
      'cluster-pool-ipv4-mask-size': '24',
      'enable-l2-announcements': o.l2 === false ? 'false' : 'true',
      'kube-proxy-replacement': 'true',
    },
  });
  if (!s.get('/secrets', 'kube-system', 'cilium-ca')) {
    s.create('/secrets', {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'cilium-ca', namespace: 'kube-system' },
      data: {
        'ca.crt': Buffer.from(o.ca ?? 'SHARED-TEST-CA').toString('base64'),
        'ca.key': Buffer.from('KEY').toString('base64'),
      },
    });
  }
  s.create('apps/daemonsets', {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'cilium', namespace: 'kube-system', labels: { 'k8s-app': 'cilium' } },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'cilium' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
      template: {
        metadata: { labels: { 'k8s-app': 'cilium' } },
        spec: {
          hostNetwork: true,
          tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'cilium-agent', image: `quay.io/cilium/cilium:v${version}` }],
        },
      },
    },
  });
  const op = deployment('kube-system', 'cilium-operator', {
    hostNetwork: true, labels: { 'io.cilium/app': 'operator', name: 'cilium-operator' },
    image: `quay.io/cilium/operator-generic:v${version}`,
  });
  s.create('apps/deployments', op);
}

/**
 * `cilium clustermesh enable --service-type <type>`: the apiserver Deployment and Service.
 * @param {Twin} twin @param {TwinKey} key @param {'LoadBalancer'|'NodePort'} [type]
 * @param {Record<string,string>} [annotations]
 */
export function enableClustermesh(twin, key, type = 'LoadBalancer', annotations) {
  const s = twin.clusters[key].store;
  s.create('apps/deployments', deployment('kube-system', 'clustermesh-apiserver', {
    labels: { 'k8s-app': 'clustermesh-apiserver' }, image: 'quay.io/cilium/clustermesh-apiserver:v1.19.3',
  }));
  s.create('/services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'clustermesh-apiserver', namespace: 'kube-system', labels: { 'k8s-app': 'clustermesh-apiserver' }, ...(annotations ? { annotations } : {}) },
    spec: {
      type,
      selector: { 'k8s-app': 'clustermesh-apiserver' },
      ports: [{ port: 2379, targetPort: 2379, protocol: 'TCP', ...(type === 'NodePort' ? { nodePort: 32379 } : {}) }],
    },
  });
}

/**
 * What `cilium clustermesh connect` leaves in cluster `from`: the etcd config
 * of `to` under its name in Secret cilium-clustermesh.
 * @param {Twin} twin @param {TwinKey} from @param {string} toName @param {string} endpoint "IP:PORT"
 */
export function configureRemote(twin, from, toName, endpoint) {
  const s = twin.clusters[from].store;
  const value = Buffer.from(`endpoints:\n- https://${endpoint}\ntrusted-ca-file: /var/lib/cilium/clustermesh/common-etcd-client-ca.crt\n`).toString('base64');
  const existing = s.get('/secrets', 'kube-system', 'cilium-clustermesh');
  if (existing) {
    existing.data = { ...(existing.data ?? {}), [toName]: value };
    s.update('/secrets', existing);
  } else {
    s.create('/secrets', {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'cilium-clustermesh', namespace: 'kube-system' },
      data: { [toName]: value },
    });
  }
}

/** @param {Array<{ start: string, stop?: string } | { cidr: string }>} blocks @param {string} name @param {object} [extra] */
export function pool(name, blocks, extra = {}) {
  return { apiVersion: 'cilium.io/v2', kind: 'CiliumLoadBalancerIPPool', metadata: { name }, spec: { blocks, ...extra } };
}

/** @param {string} name @param {object} [spec] */
export function l2Policy(name, spec = { loadBalancerIPs: true, externalIPs: true }) {
  return { apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy', metadata: { name }, spec };
}

/**
 * A LoadBalancer Service.
 * @param {string} ns @param {string} name
 * @param {{ labels?: Record<string,string>, annotations?: Record<string,string>, selector?: Record<string,string>, port?: number, cls?: string }} [o]
 * @returns {KubeObject}
 */
export function lbService(ns, name, o = {}) {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: ns, ...(o.labels ? { labels: o.labels } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      type: 'LoadBalancer',
      ...(o.cls ? { loadBalancerClass: o.cls } : {}),
      selector: o.selector ?? { app: name },
      ports: [{ port: o.port ?? 80, targetPort: 80, protocol: 'TCP' }],
    },
  };
}

/** @param {Twin} twin @param {TwinKey} key @param {string} ns @param {string} name */
export function lbIp(twin, key, ns, name) {
  return twin.clusters[key].store.get('/services', ns, name)?.status?.loadBalancer?.ingress?.[0]?.ip;
}

/**
 * One plain HTTP GET on a fresh connection. Rejects when the connection is
 * refused or reset (what a client sees when no backend exists).
 * @param {string} url
 * @returns {Promise<{ status: number, body: string, headers: import('node:http').IncomingHttpHeaders }>}
 */
export function httpGet(url) {
  return import('node:http').then(({ request }) => new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' }, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  }));
}

/**
 * Both clusters with Cilium (l2 announcements on), a mesh pool giving
 * clustermesh-apiserver `<base>.10.<1|2>`, an app pool `<base>.<20|30>.1-9`
 * for Services labelled lb-pool=app, an L2 policy, ClusterMesh enabled with a
 * LoadBalancer Service, and (unless `connect: false`) both clusters configured
 * for each other. Node IPs must be given to fakeTwin separately.
 * @param {Twin} twin @param {string} base e.g. "127.93"
 * @param {{ connect?: boolean, meshIps?: [string, string], cas?: [string, string], versions?: [string, string] }} [o]
 */
export async function bootMesh(twin, base, o = {}) {
  const meshIps = o.meshIps ?? [`${base}.10.1`, `${base}.10.2`];
  /** @type {TwinKey[]} */
  const keys = ['a', 'b'];
  keys.forEach((k, i) => {
    installCilium(twin, k, { ca: o.cas?.[i], version: o.versions?.[i] });
  });
  await waitFor(() => keys.every((k) => twin.clusters[k].store.get('apps/deployments', 'kube-system', 'cilium-operator')?.status?.readyReplicas), 'operators');
  keys.forEach((k, i) => {
    const s = twin.clusters[k].store;
    s.create('cilium.io/ciliumloadbalancerippools', pool('cluster-pool', [{ start: meshIps[i], stop: meshIps[i] }], {
      serviceSelector: { matchLabels: { 'io.kubernetes.service.name': 'clustermesh-apiserver' } },
    }));
    s.create('cilium.io/ciliumloadbalancerippools', pool('app-pool', [{ start: `${base}.${i ? 30 : 20}.1`, stop: `${base}.${i ? 30 : 20}.9` }], {
      serviceSelector: { matchLabels: { 'lb-pool': 'app' } },
    }));
    s.create('cilium.io/ciliuml2announcementpolicies', l2Policy('l2-policy'));
    enableClustermesh(twin, k, 'LoadBalancer');
  });
  await waitFor(() => keys.every((k) => lbIp(twin, k, 'kube-system', 'clustermesh-apiserver')), 'mesh IPs');
  if (o.connect !== false) {
    configureRemote(twin, 'a', 'cluster-b', `${lbIp(twin, 'b', 'kube-system', 'clustermesh-apiserver')}:2379`);
    configureRemote(twin, 'b', 'cluster-a', `${lbIp(twin, 'a', 'kube-system', 'clustermesh-apiserver')}:2379`);
  }
}

/**
 * The article's echo Deployment (image mcbtaguiad/web-echo:cluster-<key>) and
 * its global Service in namespace echo.
 * @param {Twin} twin @param {TwinKey} key
 * @param {{ replicas?: number, annotations?: Record<string, string>, port?: number }} [o]
 */
export function deployEcho(twin, key, o = {}) {
  const s = twin.clusters[key].store;
  s.create('apps/deployments', deployment('echo', 'echo', { replicas: o.replicas ?? 1, image: `mcbtaguiad/web-echo:cluster-${key}` }));
  s.create('/services', lbService('echo', 'echo', {
    labels: { 'lb-pool': 'app' },
    annotations: o.annotations ?? { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'local' },
    cls: 'io.cilium/l2-announcer',
    port: o.port ?? 8080,
  }));
}

/**
 * Sets spec.replicas of a Deployment, as `kubectl scale` does.
 * @param {Twin} twin @param {TwinKey} key @param {string} ns @param {string} name @param {number} replicas
 */
export function scale(twin, key, ns, name, replicas) {
  const s = twin.clusters[key].store;
  const d = s.get('apps/deployments', ns, name);
  if (!d) throw new Error(`no deployment ${ns}/${name}`);
  d.spec.replicas = replicas;
  s.update('apps/deployments', d);
}
