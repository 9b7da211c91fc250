// @ts-check
// The cluster twin: two simulated K3s clusters in this process, each with its
// object store, seeded like a fresh K3s server (system namespaces, nodes, the
// kubernetes and kube-dns Services, K3s's own Deployments), its HTTPS API
// server on 127.0.0.1 that the real kubectl talks to, and kubeconfigs. Then the
// controllers and the data plane start on top. Each cluster is the README's
// K3s: its own service CIDR for ClusterIPs, node pod CIDRs inside its cluster
// CIDR, and the server flags in k3s.io/node-args. A twin with a data plane and
// no node IPs given claims its own 127.N (hosting.mjs).
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Store } from './store/store.mjs';
import { createClusterPki } from './pki.mjs';
import { startApiServer } from './server/index.mjs';
import { k3sKubeconfig, renderKubeconfig, writeKubeconfig } from './kubeconfig.mjs';
import { applyDefaults } from './kinds/defaults.mjs';
import { ipToInt, intToIp, nthIp, parseCidr } from './kinds/service-alloc.mjs';
import { startControllers } from './controllers/index.mjs';
import { startDataplane } from './dataplane/index.mjs';
import { claimNet, netLayout, sweepStaleTwinDirs, twinTempDir } from './hosting.mjs';
import { attachAgents } from './agents/index.mjs';

/** @typedef {import('./types.js').TwinKey} TwinKey */
/** @typedef {import('./types.js').TwinNode} TwinNode */
/** @typedef {import('./store/types.js').KubeObject} KubeObject */
/** @typedef {import('./server/types.js').TwinStartOptions} TwinStartOptions */
/** @typedef {import('./server/types.js').RunningTwinOptions} RunningTwinOptions */
/** @typedef {import('./server/types.js').RunningTwin} RunningTwin */
/** @typedef {import('./server/types.js').RunningTwinCluster} RunningTwinCluster */

/** @type {TwinKey[]} */
const KEYS = ['a', 'b'];

/**
 * Options with defaults filled in.
 * @param {TwinStartOptions} p
 * @param {string} [net] the claimed 127.N, when the node IPs are not given
 * @returns {Omit<RunningTwinOptions, 'dir'> & { dir?: string }}
 */
export function resolveOptions(p = {}, net) {
  return {
    dir: p.dir,
    contexts: { a: 'cluster-a', b: 'cluster-b', ...p.contexts },
    k3sVersion: p.k3sVersion ?? 'v1.33.5+k3s1',
    nodeCount: p.nodeCount ?? 3,
    nodeIpBase: { ...netLayout(net ?? '127.0').nodeIpBase, ...p.nodeIpBase },
    delays: { podReadyMs: 300, podTerminateMs: 100, crdEstablishMs: 200, lbAssignMs: 50, ...p.delays },
    faults: { latencyMs: 0, errorRate: 0, ...p.faults },
    servicelb: p.servicelb ?? false,
    // README "K3s prerequisites": --cluster-cidr and --service-cidr per cluster.
    serviceCidr: { a: '10.96.0.0/12', b: '10.112.0.0/12', ...p.serviceCidr },
    podCidr: { a: '10.42.0.0/16', b: '10.43.0.0/16', ...p.podCidr },
    cleanup: p.cleanup ?? false,
    controllers: p.controllers ?? true,
    dataplane: p.dataplane ?? true,
  };
}

/** @param {TwinKey} key @param {number} count @param {string} ipBase @returns {TwinNode[]} */
export function nodeList(key, count, ipBase) {
  const base = ipToInt(ipBase);
  if (!(base >= ipToInt('127.0.0.1') && base + count - 1 <= ipToInt('127.255.255.254'))) {
    throw new Error(`nodeIpBase ${ipBase} with ${count} nodes leaves 127.0.0.0/8: the twin binds loopback addresses only`);
  }
  return Array.from({ length: count }, (_, i) => ({
    name: i === 0 ? `k3s-${key}-server` : `k3s-${key}-agent-${i}`,
    ip: intToIp(base + i),
  }));
}

/**
 * @param {string} apiVersion @param {string} kind @param {string} name @param {string} [namespace]
 * @param {Record<string, any>} [rest]
 * @returns {KubeObject}
 */
function obj(apiVersion, kind, name, namespace, rest = {}) {
  const { metadata = {}, ...body } = rest;
  /** @type {KubeObject} */
  const o = { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}), ...metadata }, ...body };
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  applyDefaults(group, kind, o);
  return o;
}

/**
 * A K3s system Deployment, already rolled out.
 * @param {string} name @param {Record<string, string>} labels @param {string} image @param {number} [port]
 * @param {string} [serviceAccount] its pods' ServiceAccount (K3s's manifests create it)
 */
function systemDeployment(name, labels, image, port, serviceAccount = name) {
  const d = obj('apps/v1', 'Deployment', name, 'kube-system', {
    metadata: { labels: { ...labels }, annotations: { 'objectset.rio.cattle.io/id': '', 'deployment.kubernetes.io/revision': '1' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { ...labels } },
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: serviceAccount,
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
          ],
          containers: [{ name, image, ...(port ? { ports: [{ containerPort: port, name: 'http', protocol: 'TCP' }] } : {}) }],
        },
      },
    },
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  d.status = {
    observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1,
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: now, lastTransitionTime: now },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-5d8f7c9b4" has successfully progressed.`, lastUpdateTime: now, lastTransitionTime: now },
    ],
  };
  return d;
}

/**
 * The argv K3s records in k3s.io/node-args: its own arguments, "--flag=value"
 * split in two (as the README's servers are started).
 * @param {boolean} server @param {{ podCidr: string, serviceCidr: string, servicelb: boolean }} k
 */
export function k3sNodeArgs(server, k) {
  if (!server) return ['agent']; // K3S_URL and K3S_TOKEN come from the environment (k3s.io/node-env)
  return ['server', '--flannel-backend', 'none', '--disable-network-policy', '--disable-kube-proxy',
    ...(k.servicelb ? [] : ['--disable', 'servicelb']), '--cluster-cidr', k.podCidr, '--service-cidr', k.serviceCidr];
}

/** The n-th /24 of a CIDR, as K3s's node IPAM hands them out. @param {string} cidr @param {number} n */
export const nodePodCidr = (cidr, n) => `${intToIp(parseCidr(cidr).base + n * 256)}/24`;

/** RFC 4648 base32 with padding, as K3s writes k3s.io/node-config-hash. @param {Buffer} buf */
function base32(buf) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of buf) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += abc[Number.parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out.padEnd(Math.ceil(out.length / 8) * 8, '=');
}

/**
 * Seeds what a fresh K3s server (started with --flannel-backend=none
 * --disable-network-policy --disable-kube-proxy --disable=servicelb
 * --cluster-cidr --service-cidr) has.
 * @param {Store} store @param {TwinNode[]} nodes @param {string} k3sVersion @param {string} serviceCidr
 * @param {{ podCidr?: string, servicelb?: boolean }} [k]
 */
export function seedK3s(store, nodes, k3sVersion, serviceCidr, k = {}) {
  const podCidr = k.podCidr ?? '10.42.0.0/16';
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    store.create('/namespaces', obj('v1', 'Namespace', ns));
    store.create('/serviceaccounts', obj('v1', 'ServiceAccount', 'default', ns));
  }
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  nodes.forEach((n, i) => {
    const server = i === 0;
    const nodeArgs = JSON.stringify(k3sNodeArgs(server, { podCidr, serviceCidr, servicelb: !!k.servicelb }));
    const nodeEnv = JSON.stringify(server ? {} : { K3S_TOKEN: '********', K3S_URL: `https://${nodes[0].ip}:6443` });
    const hash = createHash('sha256').update(nodeArgs).update(nodeEnv).digest();
    const podCIDR = nodePodCidr(podCidr, i);
    store.create('/nodes', obj('v1', 'Node', n.name, undefined, {
      metadata: {
        labels: {
          'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/instance-type': 'k3s', 'beta.kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux',
          'node.kubernetes.io/instance-type': 'k3s',
          ...(server ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true' } : {}),
        },
        annotations: {
          'alpha.kubernetes.io/provided-node-ip': n.ip, 'k3s.io/hostname': n.name, 'k3s.io/internal-ip': n.ip,
          'k3s.io/node-args': nodeArgs, 'k3s.io/node-config-hash': base32(hash), 'k3s.io/node-env': nodeEnv,
          'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        },
      },
      spec: { podCIDR, podCIDRs: [podCIDR], providerID: `k3s://${n.name}` },
      status: {
        addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }],
        allocatable: { cpu: '2', 'ephemeral-storage': '39358207765', memory: '4010276Ki', pods: '110' },
        capacity: { cpu: '2', 'ephemeral-storage': '40458684Ki', memory: '4010276Ki', pods: '110' },
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          architecture: 'amd64', bootID: `boot-${n.name}`, containerRuntimeVersion: 'containerd://2.1.4-k3s1',
          kernelVersion: '6.8.0-60-generic', kubeProxyVersion: '', kubeletVersion: k3sVersion,
          machineID: `machine-${n.name}`, operatingSystem: 'linux', osImage: 'Ubuntu 24.04.2 LTS', systemUUID: `uuid-${n.name}`,
        },
      },
    }));
  });
  store.create('/services', obj('v1', 'Service', 'kubernetes', 'default', {
    metadata: { labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: nthIp(serviceCidr, 1), clusterIPs: [nthIp(serviceCidr, 1)], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
  }));
  store.create('/endpoints', obj('v1', 'Endpoints', 'kubernetes', 'default', {
    metadata: { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: nodes[0]?.ip ?? '127.0.0.1' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
  }));
  store.create('/services', obj('v1', 'Service', 'kube-dns', 'kube-system', {
    metadata: {
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      clusterIP: nthIp(serviceCidr, 10), clusterIPs: [nthIp(serviceCidr, 10)], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      selector: { 'k8s-app': 'kube-dns' },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  }));
  store.create('/services', obj('v1', 'Service', 'metrics-server', 'kube-system', {
    metadata: { labels: { 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'Metrics-server' } },
    spec: {
      clusterIP: nthIp(serviceCidr, 120), clusterIPs: [nthIp(serviceCidr, 120)], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      selector: { 'k8s-app': 'metrics-server' },
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' }],
    },
  }));
  // The ServiceAccounts of K3s's packaged manifests (coredns, local-storage, metrics-server).
  for (const sa of ['coredns', 'local-path-provisioner-service-account', 'metrics-server']) store.create('/serviceaccounts', obj('v1', 'ServiceAccount', sa, 'kube-system'));
  store.create('apps/deployments', systemDeployment('coredns', { 'k8s-app': 'kube-dns' }, 'rancher/mirrored-coredns-coredns:1.12.3', 53));
  store.create('apps/deployments', systemDeployment('local-path-provisioner', { app: 'local-path-provisioner' }, 'rancher/local-path-provisioner:v0.0.31', undefined, 'local-path-provisioner-service-account'));
  store.create('apps/deployments', systemDeployment('metrics-server', { 'k8s-app': 'metrics-server' }, 'rancher/mirrored-metrics-server:v0.8.0', 10250));
}

/**
 * Starts the twin.
 * @param {TwinStartOptions} [partialOptions]
 * @returns {Promise<RunningTwin>}
 */
export async function startTwin(partialOptions = {}) {
  sweepStaleTwinDirs();
  const wantsNet = !partialOptions.nodeIpBase && (partialOptions.dataplane ?? true);
  const claim = wantsNet ? await claimNet({ nodeCount: partialOptions.nodeCount ?? 3 }) : undefined;
  const resolved = resolveOptions(partialOptions, claim?.net);
  let dir = resolved.dir;
  try {
    dir ??= await twinTempDir();
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    claim?.release();
    throw e;
  }
  /** @type {RunningTwinOptions} */
  const options = { ...resolved, dir };
  /** @type {Array<() => Promise<void> | void>} */
  const stoppers = [];
  const stopAll = async () => {
    for (const s of stoppers.splice(0).reverse()) {
      try { await s(); } catch { /* keep stopping the rest */ }
    }
  };
  if (claim) stoppers.push(() => claim.release());
  try {
    const pkis = await Promise.all(KEYS.map((k) => createClusterPki(join(dir, k))));
    /** @type {Partial<Record<TwinKey, RunningTwinCluster>>} */
    const clusters = {};
    for (const [i, key] of KEYS.entries()) {
      const pki = pkis[i];
      const nodes = nodeList(key, options.nodeCount, options.nodeIpBase[key]);
      const store = new Store(options.contexts[key]);
      seedK3s(store, nodes, options.k3sVersion, options.serviceCidr[key], { podCidr: options.podCidr[key], servicelb: options.servicelb });
      const server = await startApiServer({
        name: options.contexts[key], store, pki, k3sVersion: options.k3sVersion,
        faults: { ...options.faults }, serviceCidr: options.serviceCidr[key],
        crdEstablishMs: options.delays.crdEstablishMs, namespaceDeleteMs: options.delays.namespaceDeleteMs,
      });
      stoppers.push(() => server.close());
      const k3sPath = join(dir, key, 'k3s.yaml');
      await writeKubeconfig(k3sPath, k3sKubeconfig({ server: server.url, caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }));
      clusters[key] = { key, context: options.contexts[key], store, server, nodes, k3sKubeconfig: k3sPath, dir: join(dir, key) };
    }
    const all = /** @type {Record<TwinKey, RunningTwinCluster>} */ (clusters);
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeKubeconfig(kubeconfig, renderKubeconfig(KEYS.map((k, i) => ({
      name: options.contexts[k], server: all[k].server.url, caCert: pkis[i].caCert, clientCert: pkis[i].clientCert, clientKey: pkis[i].clientKey,
    })), options.contexts.a));
    /** @type {Promise<void> | undefined} */
    let stopping;
    /** @type {RunningTwin} */
    const twin = {
      options, dir, kubeconfig, clusters: all, dataplane: undefined,
      net: claim?.net ?? options.nodeIpBase.a.split('.').slice(0, 2).join('.'),
      stop() {
        stopping ??= (async () => {
          await stopAll();
          if (options.cleanup) await rm(dir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
    attachAgents(twin); // exec into its pods answers from both clusters' state
    // An address it must serve is taken: the twin stops rather than carry on half-served
    // (while starting, startTwin throws it).
    /** @type {Error | undefined} */
    let early;
    let started = false;
    const onFatal = (/** @type {Error} */ err) => {
      if (!started) { early ??= err; return; }
      if (partialOptions.onFatal) partialOptions.onFatal(err);
      else console.error(`[twin] stopping: ${err.message}`);
      void twin.stop();
    };
    if (options.controllers) {
      const c = startControllers(twin);
      stoppers.push(() => c.stop());
    }
    if (options.dataplane) {
      const d = await startDataplane(twin, { onFatal });
      twin.dataplane = d;
      stoppers.push(() => d.stop());
      if (early) throw early;
    }
    started = true;
    return twin;
  } catch (e) {
    await stopAll();
    if (options.cleanup || !resolved.dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
}
