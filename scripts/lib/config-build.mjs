// @ts-check
// buildConfig: variables in, a frozen Config or every problem out. Pure: no
// files, no processes, no network. The values are read through the settings
// table in the order below, which is the order the problems are listed in.
import os from 'node:os';
import { resolveKubeconfigPaths } from './kubeconfig-read.mjs';
import { DEFAULTS } from './config-table.mjs';
import { createReader } from './config-reader.mjs';
import { checkK3sFiles, k3sInput } from './config-kubeconfig.mjs';
import { readCluster } from './config-cluster.mjs';
import { checkAcrossClusters, checkHubble } from './config-checks.mjs';

/** @typedef {import('./types.d.ts').Config} Config */
/** @typedef {import('./types.d.ts').ClusterConfig} ClusterConfig */
/** @typedef {import('./types.d.ts').ClusterKey} ClusterKey */
/** @typedef {import('./types.d.ts').ConfigProblem} ConfigProblem */
/** @typedef {import('./config-kubeconfig.mjs').KubeconfigInfo} KubeconfigInfo */
/** @typedef {import('./config-kubeconfig.mjs').K3sInfo} K3sInfo */
/** @typedef {import('./config-cluster.mjs').Nets} Nets */

/**
 * Checks the variables and derives the Config.
 * @param {Record<string, string | undefined>} vars  values by name; a missing name takes its default
 * @param {KubeconfigInfo} kube  the kubeconfig's contexts, or why it could not be read
 * @param {{ envFile?: string | null, home?: string, cwd?: string, k3s?: K3sInfo }} [options]
 *   envFile for Config.envFile; home and cwd to resolve KUBECONFIG paths; k3s:
 *   the files CLUSTER_X_K3S_KUBECONFIG name, as readK3sInput read them (loadConfig
 *   always reads them; when one is left out, it is taken to be as K3s writes it)
 * @returns {{ config: Config, problems: [] } | { config: null, problems: ConfigProblem[] }}
 */
export function buildConfig(vars, kube, options = {}) {
  /** @type {ConfigProblem[]} */
  const problems = [];
  const r = createReader(vars, problems);
  const { problem, value, read } = r;

  // general
  const home = options.home ?? os.homedir();
  const cwd = options.cwd ?? process.cwd();
  const kubeconfig = resolveKubeconfigPaths(value('KUBECONFIG') || DEFAULTS.KUBECONFIG, { home, cwd }).join(':');
  if ('error' in kube) problem('KUBECONFIG', `cannot be used: ${kube.error}`);
  const contexts = 'error' in kube ? null : kube.contexts;

  // step 00: the kubeconfigs as they come off the K3s servers
  const { k3sMode, files: k3sFiles } = checkK3sFiles(r, { home, cwd, k3s: options.k3s });

  /** @type {string} */
  const ciliumVersion = read('CILIUM_VERSION') ?? '';

  // per cluster; with NodePort the clustermesh-apiserver takes no LoadBalancer IP, so the mesh IPs are not read
  const meshLb = value('MESH_SERVICE_TYPE') !== 'NodePort';
  const ctx = { k3sMode, k3sFiles, contexts, kubeconfig, meshLb };
  const A = readCluster(r, 'a', ctx);
  const B = readCluster(r, 'b', { ...ctx, a: A.cluster });
  const clusters = { a: A.cluster, b: B.cluster };
  checkAcrossClusters(r, clusters, { a: A.nets, b: B.nets }, k3sMode);

  // mesh service, Hubble
  /** @type {'LoadBalancer' | 'NodePort'} */
  const serviceType = read('MESH_SERVICE_TYPE') ?? '';
  /** @type {boolean | null} */
  const hubbleEnabled = read('HUBBLE_ENABLED');
  /** @type {boolean | null} */
  const relay = read('HUBBLE_RELAY_ENABLED');
  /** @type {boolean | null} */
  const ui = read('HUBBLE_UI_ENABLED');
  checkHubble(r, hubbleEnabled, relay, ui);
  /** @type {string[]} */
  const metrics = read('HUBBLE_METRICS');

  // the echo app
  /** @type {string} */
  const namespace = read('ECHO_NAMESPACE') ?? '';
  /** @type {string} */
  const echoName = read('ECHO_NAME') ?? '';
  /** @type {number} */
  const replicas = read('ECHO_REPLICAS') ?? 0;
  /** @type {number} */
  const servicePort = read('ECHO_SERVICE_PORT') ?? 0;
  /** @type {number} */
  const targetPort = read('ECHO_TARGET_PORT') ?? 0;
  /** @type {'local' | 'remote' | ''} */
  const affinity = read('ECHO_AFFINITY') ?? '';

  const timeouts = {
    cilium: read('TIMEOUT_CILIUM') ?? 0,
    resources: read('TIMEOUT_RESOURCES') ?? 0,
    mesh: read('TIMEOUT_MESH') ?? 0,
    rollout: read('TIMEOUT_ROLLOUT') ?? 0,
    http: read('TIMEOUT_HTTP') ?? 0,
    failover: read('TIMEOUT_FAILOVER') ?? 0,
  };

  if (problems.length > 0) return { config: null, problems };

  /** @type {Config} */
  const config = {
    envFile: options.envFile ?? null,
    kubeconfig,
    k3s: k3sFiles.a && k3sFiles.b ? { a: k3sInput(k3sFiles.a), b: k3sInput(k3sFiles.b) } : null,
    ciliumVersion,
    a: clusters.a,
    b: clusters.b,
    clusters: [clusters.a, clusters.b],
    meshServiceType: serviceType,
    hubble: { enabled: hubbleEnabled === true, relay: relay === true, ui: ui === true, metrics },
    echo: { namespace, name: echoName, replicas, servicePort, targetPort, affinity },
    timeouts,
  };
  return { config: deepFreeze(config), problems: [] };
}

/**
 * Freezes an object and everything reachable from it.
 * @template T
 * @param {T} obj
 * @returns {T}
 */
function deepFreeze(obj) {
  if (obj && typeof obj === 'object' && !Object.isFrozen(obj)) {
    Object.freeze(obj);
    for (const v of Object.values(obj)) deepFreeze(v);
  }
  return obj;
}
