// @ts-check
// The runbook's settings: read once from a dotenv file and the environment,
// checked in one pass that collects every problem, and handed out frozen.
//
// loadConfig() does the reading (env file, kubeconfig); buildConfig() is the pure
// part (variables in, Config or problems out) so tests can feed it tables.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import {
  NetError,
  parseIPv4,
  parseCidr,
  formatIPv4,
  formatCidr,
  formatRange,
  overlaps,
  contains,
  isIPv6,
  isLoopbackHost,
  isUnspecifiedHost,
} from './net.mjs';
import { expandHome, resolveKubeconfigPaths, serverHostPort, tryReadKubeconfig } from './kubeconfig-read.mjs';
import { readK3sInput, isSimpleName } from './k3s-kubeconfig.mjs';

/** @typedef {import('./types.d.ts').Config} Config */
/** @typedef {import('./types.d.ts').ClusterConfig} ClusterConfig */
/** @typedef {import('./types.d.ts').ClusterKey} ClusterKey */
/** @typedef {import('./types.d.ts').ConfigProblem} ConfigProblem */
/** @typedef {import('./net.mjs').IPv4Cidr} IPv4Cidr */
/** @typedef {import('./net.mjs').IPv4Range} IPv4Range */
/** @typedef {import('./k3s-kubeconfig.mjs').K3sFileInfo} K3sFileInfo */

/**
 * What buildConfig needs to know about the kubeconfig: its contexts and each
 * context's server URL (null when the context's cluster is not defined), or why
 * it could not be read.
 * @typedef {{ contexts: Map<string, { server: string | null, cluster?: string }> } | { error: string }} KubeconfigInfo
 */

/** @type {Record<ClusterKey, Record<string, string>>} */
const CLUSTER_DEFAULTS = {
  a: {
    CONTEXT: 'cluster-a',
    NAME: 'cluster-a',
    ID: '1',
    POD_CIDR: '10.42.0.0/16',
    SERVICE_CIDR: '10.96.0.0/12',
    API_HOST: '',
    API_PORT: '',
    KUBECONFIG_SERVER: '',
    MESH_IP: '192.168.254.220',
    APP_POOL_START: '192.168.254.230',
    APP_POOL_STOP: '192.168.254.239',
    ECHO_IMAGE: 'mcbtaguiad/web-echo:cluster-a',
    ECHO_PAGE: 'Cluster A',
  },
  b: {
    CONTEXT: 'cluster-b',
    NAME: 'cluster-b',
    ID: '2',
    POD_CIDR: '10.43.0.0/16',
    // The article writes 10.97.0.0/12, which is not a network address: the /12
    // holding 10.97.x.x is 10.96.0.0/12, cluster A's range.
    SERVICE_CIDR: '10.112.0.0/12',
    API_HOST: '',
    API_PORT: '',
    KUBECONFIG_SERVER: '',
    MESH_IP: '192.168.254.221',
    APP_POOL_START: '192.168.254.240',
    APP_POOL_STOP: '192.168.254.249',
    ECHO_IMAGE: 'mcbtaguiad/web-echo:cluster-b',
    ECHO_PAGE: 'Cluster B',
  },
};

/** @param {ClusterKey} key */
const clusterVars = (key) =>
  Object.fromEntries(Object.entries(CLUSTER_DEFAULTS[key]).map(([k, v]) => [`CLUSTER_${key.toUpperCase()}_${k}`, v]));

/**
 * Every variable the runbook reads, with its default ('' = empty is allowed and
 * means something: derived from the kubeconfig, left out, or none).
 * @type {Readonly<Record<string, string>>}
 */
export const DEFAULTS = Object.freeze({
  KUBECONFIG: '~/.kube/config',
  CLUSTER_A_K3S_KUBECONFIG: '',
  CLUSTER_B_K3S_KUBECONFIG: '',
  CILIUM_VERSION: '1.19.3',
  ...clusterVars('a'),
  ...clusterVars('b'),
  MESH_SERVICE_TYPE: 'LoadBalancer',
  HUBBLE_ENABLED: 'true',
  HUBBLE_RELAY_ENABLED: 'true',
  HUBBLE_UI_ENABLED: 'true',
  HUBBLE_METRICS: 'dns,drop,tcp,flow,port-distribution,icmp,http',
  ECHO_NAMESPACE: 'echo',
  ECHO_NAME: 'echo',
  ECHO_REPLICAS: '1',
  ECHO_SERVICE_PORT: '80',
  ECHO_TARGET_PORT: '80',
  ECHO_AFFINITY: 'local',
  TIMEOUT_CILIUM: '5m',
  TIMEOUT_RESOURCES: '2m',
  TIMEOUT_MESH: '5m',
  TIMEOUT_ROLLOUT: '3m',
  TIMEOUT_HTTP: '5s',
  TIMEOUT_FAILOVER: '2m',
});

/** The names of all variables the runbook reads, in env.example's order. */
export const VARIABLES = Object.freeze(Object.keys(DEFAULTS));

/**
 * Variables that may be empty: KUBECONFIG (kubectl's default), the K3s
 * kubeconfigs (no step 00), API host/port (from the kubeconfig), the server
 * step 00 writes (from the API host), affinity (no annotation), metrics (none).
 */
const MAY_BE_EMPTY = new Set([
  'KUBECONFIG',
  'CLUSTER_A_K3S_KUBECONFIG',
  'CLUSTER_B_K3S_KUBECONFIG',
  'CLUSTER_A_API_HOST',
  'CLUSTER_A_API_PORT',
  'CLUSTER_A_KUBECONFIG_SERVER',
  'CLUSTER_B_API_HOST',
  'CLUSTER_B_API_PORT',
  'CLUSTER_B_KUBECONFIG_SERVER',
  'ECHO_AFFINITY',
  'HUBBLE_METRICS',
]);

/** Env-file names with these prefixes are taken to be meant for the runbook. */
const OUR_PREFIXES = ['CLUSTER_A_', 'CLUSTER_B_', 'CLUSTER_', 'CILIUM_', 'MESH_', 'HUBBLE_', 'ECHO_', 'TIMEOUT_', 'KUBE'];

export class ConfigError extends Error {
  /**
   * @param {ConfigProblem[]} problems
   * @param {string} [source] where the settings came from, for the first line
   */
  constructor(problems, source) {
    const n = problems.length;
    const head = `The runbook's settings have ${n} problem${n === 1 ? '' : 's'}${source ? ` (${source})` : ''}:`;
    super(`${head}\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
    /** @type {ConfigProblem[]} */
    this.problems = problems;
  }
}

/**
 * One line per problem: "VARIABLE: what is wrong".
 * @param {readonly ConfigProblem[]} problems
 */
export function formatProblems(problems) {
  return problems.map((p) => `${p.variable}: ${p.message}`).join('\n');
}

/**
 * Levenshtein distance.
 * @param {string} a
 * @param {string} b
 */
export function editDistance(a, b) {
  /** @type {number[]} */
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The known variable nearest to a name, by edit distance (ties: first in order).
 * @param {string} name
 */
export function nearestVariable(name) {
  let best = VARIABLES[0];
  let bestDistance = Infinity;
  for (const known of VARIABLES) {
    const d = editDistance(name.toUpperCase(), known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return { name: best, distance: bestDistance };
}

/**
 * Problems for env-file names that look like the runbook's but are not known:
 * usually a typo, which would otherwise silently leave the default in place. A
 * name looks like ours when it has one of our prefixes, or when it is a typo or
 * two away from a known name (CLUSTR_A_NAME), whatever its prefix.
 * @param {Iterable<string>} names
 * @returns {ConfigProblem[]}
 */
export function findUnknownVariables(names) {
  /** @type {ConfigProblem[]} */
  const problems = [];
  for (const name of names) {
    if (Object.hasOwn(DEFAULTS, name)) continue;
    const upper = name.toUpperCase();
    const near = nearestVariable(name);
    const typo = near.distance <= Math.min(3, Math.floor(near.name.length / 5));
    if (!typo && !OUR_PREFIXES.some((p) => upper.startsWith(p))) continue;
    let message = `unknown variable ${name}, so it has no effect`;
    if (upper === near.name) message += `; did you mean ${near.name}? (names are upper case)`;
    else if (near.distance <= Math.max(3, Math.ceil(near.name.length / 3))) message += `; did you mean ${near.name}?`;
    else message += ' (env.example lists every variable)';
    problems.push({ variable: name, message });
  }
  return problems;
}

/**
 * Seconds from "90s", "5m", "1m30s", "1h", or plain seconds "90"; null when unparseable.
 * @param {string} text
 * @returns {number | null}
 */
export function parseDuration(text) {
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const CLUSTER_NAME_RE = /^([a-z0-9][-a-z0-9]*)?[a-z0-9]$/;
const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME_RE = /^(?=.{1,253}\.?$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$/;
const METRIC_RE = /^[A-Za-z][A-Za-z0-9-]*(:[^,\s]+)?$/;

/** @param {string} s */
const q = (s) => JSON.stringify(s);

/**
 * Checks the variables and derives the Config. Pure: no files, no processes, no network.
 * @param {Record<string, string | undefined>} vars  values by name; a missing name takes its default
 * @param {KubeconfigInfo} kube  the kubeconfig's contexts, or why it could not be read
 * @param {{ envFile?: string | null, home?: string, cwd?: string, k3s?: Partial<Record<ClusterKey, K3sFileInfo | { error: string }>> }} [options]
 *   envFile for Config.envFile; home and cwd to resolve KUBECONFIG paths; k3s:
 *   the files CLUSTER_X_K3S_KUBECONFIG name, as readK3sInput read them (loadConfig
 *   always reads them; when one is left out, it is taken to be as K3s writes it)
 * @returns {{ config: Config, problems: [] } | { config: null, problems: ConfigProblem[] }}
 */
export function buildConfig(vars, kube, options = {}) {
  /** @type {ConfigProblem[]} */
  const problems = [];
  /** @param {string} variable @param {string} message */
  const problem = (variable, message) => {
    problems.push({ variable, message });
  };

  /**
   * The value of a variable: the default when not given, trimmed otherwise (with a
   * problem when it had whitespace around it); '' when empty.
   * @param {string} name
   */
  /** @type {Map<string, string>} */
  const seen = new Map();
  /** @param {string} name */
  const value = (name) => {
    const known = seen.get(name);
    if (known !== undefined) return known;
    const raw = vars[name];
    let v = DEFAULTS[name];
    if (raw !== undefined) {
      v = raw.trim();
      if (v !== '' && v !== raw) {
        problem(name, `${q(raw)} has whitespace at the start or end; remove it (quotes in the env file keep spaces)`);
      }
    }
    seen.set(name, v);
    return v;
  };

  /**
   * A value that must not be empty; null (with a problem) when it is.
   * @param {string} name
   */
  const required = (name) => {
    const v = value(name);
    if (v === '' && !MAY_BE_EMPTY.has(name)) {
      problem(name, `is empty; give it a value, or leave it out entirely to use the default (${DEFAULTS[name]})`);
      return null;
    }
    return v;
  };

  /**
   * @param {string} name
   * @param {number} min
   * @param {number} max
   * @param {string} rangeText what the range means, for the message
   * @returns {number | null}
   */
  const integer = (name, min, max, rangeText) => {
    const v = required(name);
    if (v === null) return null;
    if (!/^[+-]?\d+$/.test(v)) {
      problem(name, `${q(v)} is not a whole number; ${rangeText}`);
      return null;
    }
    const n = Number(v);
    if (n < min || n > max) {
      problem(name, `is ${n}; ${rangeText}`);
      return null;
    }
    return n;
  };

  /** @param {string} name */
  const port = (name) => integer(name, 1, 65535, 'a port number must be from 1 to 65535');

  /**
   * @param {string} name
   * @returns {boolean | null} null (with a problem) when not true/false
   */
  const boolean = (name) => {
    const v = required(name);
    if (v === null) return null;
    const lower = v.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
    problem(name, `${q(v)} is not a boolean; write true or false`);
    return null;
  };

  /**
   * @param {string} name
   * @returns {number}
   */
  const duration = (name) => {
    const v = required(name);
    if (v === null) return 0;
    const seconds = parseDuration(v);
    if (seconds === null) {
      problem(name, `${q(v)} is not a duration; write e.g. 90s, 5m, 1m30s, 1h or plain seconds like 90`);
      return 0;
    }
    if (seconds <= 0) {
      problem(name, `is ${q(v)}; a timeout must be longer than 0 seconds`);
      return 0;
    }
    return seconds;
  };

  /**
   * @param {string} name
   * @returns {number | null}
   */
  const ip = (name) => {
    const v = required(name);
    if (v === null) return null;
    try {
      return parseIPv4(v);
    } catch (err) {
      if (err instanceof NetError) {
        problem(name, err.message);
        return null;
      }
      throw err;
    }
  };

  /**
   * @param {string} name
   * @returns {IPv4Cidr | null}
   */
  const cidr = (name) => {
    const v = required(name);
    if (v === null) return null;
    try {
      return parseCidr(v);
    } catch (err) {
      if (err instanceof NetError) {
        problem(name, err.message);
        return null;
      }
      throw err;
    }
  };

  // ---- general ----
  const home = options.home ?? os.homedir();
  const cwd = options.cwd ?? process.cwd();
  const kubeconfigValue = value('KUBECONFIG') || DEFAULTS.KUBECONFIG;
  const kubeconfig = resolveKubeconfigPaths(kubeconfigValue, { home, cwd }).join(':');
  if ('error' in kube) problem('KUBECONFIG', `cannot be used: ${kube.error}`);
  const contexts = 'error' in kube ? null : kube.contexts;

  // ---- step 00: the kubeconfigs as they come off the K3s servers ----
  const k3sValues = { a: value('CLUSTER_A_K3S_KUBECONFIG'), b: value('CLUSTER_B_K3S_KUBECONFIG') };
  const k3sMode = k3sValues.a !== '' || k3sValues.b !== '';
  /** @type {Partial<Record<ClusterKey, K3sFileInfo>>} */
  const k3sFiles = {};
  for (const key of /** @type {ClusterKey[]} */ (k3sMode ? ['a', 'b'] : [])) {
    const [X, O] = key === 'a' ? ['A', 'B'] : ['B', 'A'];
    const variable = `CLUSTER_${X}_K3S_KUBECONFIG`;
    if (k3sValues[key] === '') {
      problem(variable, `is empty while CLUSTER_${O}_K3S_KUBECONFIG is set; step 00 merges both clusters' K3s kubeconfigs, so set both (or neither, when KUBECONFIG already holds both contexts)`);
      continue;
    }
    const info = options.k3s?.[key] ?? {
      file: path.resolve(cwd, expandHome(k3sValues[key], home)), context: 'default', cluster: 'default', user: 'default', server: 'https://127.0.0.1:6443', caData: null,
    };
    if ('error' in info) problem(variable, info.error);
    else k3sFiles[key] = info;
  }
  if (k3sFiles.a && k3sFiles.b) {
    if (k3sFiles.a.file === k3sFiles.b.file) {
      problem('CLUSTER_B_K3S_KUBECONFIG', `is the same file as CLUSTER_A_K3S_KUBECONFIG (${k3sFiles.a.file}), so both clusters would be one; copy /etc/rancher/k3s/k3s.yaml from each cluster's own K3s server`);
    } else if (k3sFiles.a.caData !== null && k3sFiles.a.caData.trim() === k3sFiles.b.caData?.trim()) {
      problem('CLUSTER_B_K3S_KUBECONFIG', `${k3sFiles.b.file} holds the same cluster CA certificate as CLUSTER_A_K3S_KUBECONFIG (${k3sFiles.a.file}), so both come from one cluster; copy /etc/rancher/k3s/k3s.yaml from cluster B's own K3s server`);
    }
  }

  let ciliumVersion = required('CILIUM_VERSION') ?? '';
  if (ciliumVersion !== '') {
    const m = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(ciliumVersion);
    if (m) ciliumVersion = m[1];
    else problem('CILIUM_VERSION', `${q(ciliumVersion)} is not a Cilium version; write major.minor.patch, like 1.19.3`);
  }

  // ---- per cluster ----
  /** @type {Record<ClusterKey, ClusterConfig>} */
  const clusters = /** @type {Record<ClusterKey, ClusterConfig>} */ ({});
  /** @typedef {{ pod: IPv4Cidr | null, service: IPv4Cidr | null, mesh: number | null, pool: IPv4Range | null, contextCluster: string | undefined }} Nets */
  const nets = /** @type {Record<ClusterKey, Nets>} */ ({});
  // With NodePort the clustermesh-apiserver takes no LoadBalancer IP: the mesh IPs are not read.
  const meshLb = value('MESH_SERVICE_TYPE') !== 'NodePort';

  for (const key of /** @type {ClusterKey[]} */ (['a', 'b'])) {
    const label = key === 'a' ? 'A' : 'B';
    const V = (/** @type {string} */ s) => `CLUSTER_${label}_${s}`;

    // context and its server
    const context = required(V('CONTEXT'));
    let server = '';
    /** @type {string | undefined} */
    let contextCluster;
    const sameContext = key === 'b' && context !== null && context === clusters.a.context;
    if (sameContext) {
      problem(V('CONTEXT'), `is ${q(context ?? '')}, the same context as CLUSTER_A_CONTEXT; each cluster needs its own context`);
    } else if (k3sMode) {
      // The context need not exist yet: step 00 creates it, with this name for its cluster and user too.
      if (context !== null && !isSimpleName(context)) {
        problem(V('CONTEXT'), `${q(context)}: step 00 writes this name for the context, cluster and user of ${V('K3S_KUBECONFIG')}; use letters, digits, '.', '_' and '-', starting with a letter (like cluster-${key})`);
      }
    } else if (context !== null && contexts) {
      const entry = contexts.get(context);
      if (!entry) {
        const names = [...contexts.keys()];
        let message = `context ${q(context)} is not in the kubeconfig (${kubeconfig}); `;
        message += names.length ? `it has: ${names.join(', ')}` : 'it has no contexts';
        if (names.includes('default')) {
          message += `. K3s kubeconfigs call their context, cluster and user "default": rename all three per cluster before merging`;
        }
        problem(V('CONTEXT'), message);
      } else if (entry.server === null) {
        problem(V('CONTEXT'), `context ${q(context)} refers to cluster ${q(entry.cluster ?? '')}, which the kubeconfig does not define`);
      } else if (entry.server === '') {
        problem(V('CONTEXT'), `context ${q(context)} refers to cluster ${q(entry.cluster ?? '')}, which has no server URL in the kubeconfig`);
      } else {
        server = entry.server;
        contextCluster = entry.cluster;
      }
    }

    // k8sServiceHost / k8sServicePort: explicit, or from the context's server URL
    let apiHost = value(V('API_HOST'));
    const apiPortText = value(V('API_PORT'));
    let apiPort = 0;
    const fromUrl = server !== '' ? serverHostPort(server) : null;
    if (apiHost !== '') {
      apiHost = checkHost(V('API_HOST'), apiHost, problem, V('API_PORT'));
    } else if (k3sMode) {
      problem(
        V('API_HOST'),
        `is empty, but with ${V('K3S_KUBECONFIG')} set it must be given: the K3s kubeconfig points at ${k3sFiles[key]?.server ?? 'https://127.0.0.1:6443'}, a loopback address, and step 00 writes https://<${V('API_HOST')}>:<${V('API_PORT')}> in its place (which Cilium uses too). ` +
          `Set it to the K3s server's address every node can reach (its LAN IP)`,
      );
    } else if (server !== '') {
      if (!fromUrl) {
        problem(V('API_HOST'), `is empty and the server of context ${q(context ?? '')} (${q(server)}) is not an http(s) URL to take it from; set ${V('API_HOST')} and ${V('API_PORT')}`);
      } else if (isLoopbackHost(fromUrl.host) || isUnspecifiedHost(fromUrl.host)) {
        problem(
          V('API_HOST'),
          `is empty, so it comes from the kubeconfig: context ${q(context ?? '')} has server ${server}, a loopback address that other nodes cannot reach. ` +
            `A K3s kubeconfig points at 127.0.0.1; set ${V('API_HOST')} to the server's address (its LAN IP, as in the edited kubeconfig)`,
        );
      } else {
        apiHost = fromUrl.host;
      }
    }
    if (apiPortText !== '') apiPort = port(V('API_PORT')) ?? 0;
    else if (k3sMode) apiPort = 6443; // K3s's port
    else if (fromUrl) apiPort = fromUrl.port;
    else if (server !== '' && apiHost !== '') {
      problem(V('API_PORT'), `is empty and the server of context ${q(context ?? '')} (${q(server)}) is not an http(s) URL to take it from; set ${V('API_PORT')}`);
    }

    // the server step 00 writes into the kubeconfig: the API host, or where this machine reaches it
    const kubeServer = value(V('KUBECONFIG_SERVER'));
    if (kubeServer !== '' && !k3sMode) {
      problem(V('KUBECONFIG_SERVER'), `is set but ${V('K3S_KUBECONFIG')} is not: only step 00 writes the kubeconfig, so it would have no effect; set both, or leave it empty`);
    } else if (kubeServer !== '') {
      const hp = serverHostPort(kubeServer);
      if (!hp || !kubeServer.startsWith('https://')) {
        problem(V('KUBECONFIG_SERVER'), `${q(kubeServer)} is not an https URL; give the address this machine reaches cluster ${label}'s API server at, like https://127.0.0.1:16443 through an SSH tunnel`);
      } else if (isUnspecifiedHost(hp.host)) {
        problem(V('KUBECONFIG_SERVER'), `${q(kubeServer)} has the unspecified address, which nothing can connect to; give the address this machine reaches cluster ${label}'s API server at`);
      } else {
        server = kubeServer;
      }
    } else if (k3sMode && apiHost !== '' && apiPort !== 0) {
      server = `https://${isIPv6(apiHost) ? `[${apiHost}]` : apiHost}:${apiPort}`;
    }
    // A context of that name for another server would be used by steps 01-09, and step 00 does not replace it.
    const existing = k3sMode && context !== null && server !== '' ? contexts?.get(context) : undefined;
    if (existing?.server && existing.server !== server) {
      problem(
        V('CONTEXT'),
        `KUBECONFIG already has context ${q(context ?? '')} for the API server ${existing.server}, not ${server}, which step 00 writes for ${V('K3S_KUBECONFIG')}; ` +
          `step 00 does not replace it: if it is stale, remove it (kubectl config delete-context ${context}, and delete-cluster and delete-user for its entries), or give this cluster another name`,
      );
    }

    // name and ID
    const name = required(V('NAME'));
    if (name !== null) {
      if (name.length > 32) {
        problem(V('NAME'), `${q(name)} is ${name.length} characters long; Cilium allows at most 32`);
      } else if (name === 'default') {
        problem(
          V('NAME'),
          `"default" cannot be used: K3s kubeconfigs call every cluster "default", and ClusterMesh refuses a cluster named default ("local cluster has the default name"); pick a unique name like cluster-${key}`,
        );
      } else if (!CLUSTER_NAME_RE.test(name)) {
        const lower = name.toLowerCase();
        problem(
          V('NAME'),
          `${q(name)} is not a valid cluster name: use lower-case letters, digits and '-', starting and ending with a letter or digit` +
            (lower !== name && CLUSTER_NAME_RE.test(lower) ? ` (e.g. ${lower})` : ''),
        );
      } else if (key === 'b' && name === clusters.a.name) {
        problem(V('NAME'), `is ${q(name)}, the same as CLUSTER_A_NAME; cluster names must be unique in the mesh`);
      }
    }
    const id = integer(V('ID'), 1, 255, 'a cluster ID must be from 1 to 255 (0 means "not part of a mesh"; IDs above 255 need clustermesh.maxConnectedClusters=511, which this runbook does not set)');
    if (id !== null && key === 'b' && id === clusters.a.id) {
      problem(V('ID'), `is ${id}, the same as CLUSTER_A_ID; each cluster needs its own ID (1–255; 0 means "not part of a mesh")`);
    }

    // networks
    const pod = cidr(V('POD_CIDR'));
    if (pod && pod.prefix > 24) {
      problem(V('POD_CIDR'), `${formatCidr(pod)} is too small: cluster-pool IPAM gives each node a /24 from it, so use a prefix of /24 or shorter, like /16`);
      // still usable for the overlap checks below
    }
    const service = cidr(V('SERVICE_CIDR'));
    const mesh = meshLb ? ip(V('MESH_IP')) : null;
    const start = ip(V('APP_POOL_START'));
    const stop = ip(V('APP_POOL_STOP'));
    /** @type {IPv4Range | null} */
    let pool = null;
    if (start !== null && stop !== null) {
      if (start > stop) {
        problem(V('APP_POOL_START'), `${formatIPv4(start)} comes after ${V('APP_POOL_STOP')} (${formatIPv4(stop)}); the pool runs from start to stop`);
      } else {
        pool = { start, end: stop };
      }
    }

    // the echo app's image and page text
    const echoImage = required(V('ECHO_IMAGE'));
    if (echoImage !== null && /\s/.test(echoImage)) {
      problem(V('ECHO_IMAGE'), `${q(echoImage)} contains whitespace; an image reference has none (like mcbtaguiad/web-echo:cluster-${key})`);
    }
    const echoPage = required(V('ECHO_PAGE'));
    if (key === 'b' && echoPage !== null && clusters.a.echoPage !== '') {
      const a = clusters.a.echoPage;
      if (echoPage === a) {
        problem(V('ECHO_PAGE'), `is ${q(echoPage)}, the same as CLUSTER_A_ECHO_PAGE; the checks tell the clusters apart by this text`);
      } else if (echoPage.includes(a) || a.includes(echoPage)) {
        problem(V('ECHO_PAGE'), `${q(echoPage)} and CLUSTER_A_ECHO_PAGE (${q(a)}) contain one another, so a page could match both; the checks tell the clusters apart by this text`);
      }
    }

    clusters[key] = {
      key,
      label,
      context: context ?? '',
      name: name ?? '',
      id: id ?? 0,
      podCidr: pod ? formatCidr(pod) : '',
      serviceCidr: service ? formatCidr(service) : '',
      apiHost,
      apiPort,
      server,
      meshIp: mesh !== null ? formatIPv4(mesh) : '',
      appPool: { start: start !== null ? formatIPv4(start) : '', stop: stop !== null ? formatIPv4(stop) : '' },
      echoImage: echoImage ?? '',
      echoPage: echoPage ?? '',
    };
    nets[key] = { pod, service, mesh, pool, contextCluster };
  }

  // ---- across the two clusters ----
  const { a: na, b: nb } = nets;
  if (k3sMode) {
    if (clusters.a.server !== '' && clusters.a.server === clusters.b.server) {
      const variable = value('CLUSTER_B_KUBECONFIG_SERVER') !== '' ? 'CLUSTER_B_KUBECONFIG_SERVER' : 'CLUSTER_B_API_HOST';
      problem(variable, `gives the API server ${clusters.b.server}, the same as cluster A's, so step 00 would write one server for both clusters and they would be one; give each cluster its own address`);
    }
  } else if (clusters.a.server !== '' && clusters.a.server === clusters.b.server) {
    let message = `context ${q(clusters.b.context)} reaches the same API server (${clusters.b.server}) as CLUSTER_A_CONTEXT (${q(clusters.a.context)}), so both would be one cluster`;
    if (na.contextCluster !== undefined && na.contextCluster === nb.contextCluster) {
      message += `. Both contexts name the cluster entry ${q(na.contextCluster)}; in a merged kubeconfig the first file's entry of a name wins, so rename the cluster and user entries too, not just the contexts (K3s calls all three "default")`;
    }
    problem('CLUSTER_B_CONTEXT', message);
  }

  /** @type {Array<[string, IPv4Cidr | null]>} */
  const cidrs = [
    ['CLUSTER_A_POD_CIDR', na.pod],
    ['CLUSTER_B_POD_CIDR', nb.pod],
    ['CLUSTER_A_SERVICE_CIDR', na.service],
    ['CLUSTER_B_SERVICE_CIDR', nb.service],
  ];
  if (na.pod && nb.pod && overlaps(na.pod, nb.pod)) {
    problem('CLUSTER_B_POD_CIDR', `${formatCidr(nb.pod)} overlaps CLUSTER_A_POD_CIDR (${formatCidr(na.pod)}); pod CIDRs must not overlap across the mesh, or pods in the two clusters get the same addresses`);
  }
  for (const [podVar, pod] of cidrs.slice(0, 2)) {
    if (!pod) continue;
    for (const [svcVar, svc] of cidrs.slice(2)) {
      if (svc && overlaps(pod, svc)) {
        problem(podVar, `${formatCidr(pod)} overlaps ${svcVar} (${formatCidr(svc)}); pod addresses must lie outside every service range in the mesh`);
      }
    }
  }

  if (na.mesh !== null && nb.mesh !== null && na.mesh === nb.mesh) {
    problem(
      'CLUSTER_B_MESH_IP',
      `is ${formatIPv4(nb.mesh)}, the same as CLUSTER_A_MESH_IP: two clustermesh-apiservers on one IP never connect (the article's troubleshooting section shows this); give each cluster its own`,
    );
  }
  for (const [key, n] of /** @type {const} */ ([['a', na], ['b', nb]])) {
    const X = key.toUpperCase();
    if (n.mesh !== null) {
      for (const [cVar, c] of cidrs) {
        if (c && contains(c, n.mesh)) {
          problem(`CLUSTER_${X}_MESH_IP`, `${formatIPv4(n.mesh)} lies inside ${cVar} (${formatCidr(c)}); a LoadBalancer IP must be outside the pod and service ranges`);
        }
      }
    }
  }
  if (na.pool && nb.pool && overlaps(na.pool, nb.pool)) {
    problem(
      'CLUSTER_B_APP_POOL_START',
      `the app pool ${formatRange(nb.pool)} overlaps cluster A's app pool (${formatRange(na.pool)}); Cilium does not compare pools across clusters, and on one L2 segment both clusters would answer ARP for the same IP`,
    );
  }
  for (const [key, n] of /** @type {const} */ ([['a', na], ['b', nb]])) {
    const X = key.toUpperCase();
    if (!n.pool) continue;
    for (const [mVar, m] of /** @type {const} */ ([['CLUSTER_A_MESH_IP', na.mesh], ['CLUSTER_B_MESH_IP', nb.mesh]])) {
      if (m !== null && contains(n.pool, m)) {
        problem(`CLUSTER_${X}_APP_POOL_START`, `the app pool ${formatRange(n.pool)} contains ${mVar} (${formatIPv4(m)}); the clustermesh-apiserver's IP needs a pool of its own`);
      }
    }
    for (const [cVar, c] of cidrs) {
      if (c && overlaps(c, n.pool)) {
        problem(`CLUSTER_${X}_APP_POOL_START`, `the app pool ${formatRange(n.pool)} overlaps ${cVar} (${formatCidr(c)}); LoadBalancer IPs must be outside the pod and service ranges`);
      }
    }
  }

  // ---- mesh service, Hubble ----
  const serviceType = required('MESH_SERVICE_TYPE') ?? '';
  if (serviceType !== '' && serviceType !== 'LoadBalancer' && serviceType !== 'NodePort') {
    const fixed = ['LoadBalancer', 'NodePort'].find((t) => t.toLowerCase() === serviceType.toLowerCase());
    problem(
      'MESH_SERVICE_TYPE',
      fixed
        ? `write ${fixed} exactly: the cilium CLI's --service-type is case-sensitive`
        : `${q(serviceType)} must be LoadBalancer or NodePort (cilium clustermesh enable --service-type; on K3s it cannot be auto-detected)`,
    );
  }

  const hubbleEnabled = boolean('HUBBLE_ENABLED');
  const relay = boolean('HUBBLE_RELAY_ENABLED');
  const ui = boolean('HUBBLE_UI_ENABLED');
  if (relay === true && hubbleEnabled === false) {
    problem('HUBBLE_RELAY_ENABLED', 'is true but HUBBLE_ENABLED is false; Hubble Relay needs Hubble, so set both true or both false');
  }
  if (ui === true && relay === false) {
    problem('HUBBLE_UI_ENABLED', 'is true but HUBBLE_RELAY_ENABLED is false; the Hubble UI reads flows through Hubble Relay');
  }
  const metricsText = value('HUBBLE_METRICS');
  /** @type {string[]} */
  const metrics = metricsText === '' ? [] : metricsText.split(',').map((m) => m.trim());
  if (metricsText !== '') {
    const bad = metrics.filter((m) => m !== '' && !METRIC_RE.test(m));
    const dupes = metrics.filter((m, i) => m !== '' && metrics.indexOf(m) !== i);
    if (metrics.includes('')) {
      problem('HUBBLE_METRICS', `${q(metricsText)} has an empty entry (two commas in a row, or one at an end); write e.g. dns,drop,tcp,flow`);
    } else if (bad.length) {
      problem(
        'HUBBLE_METRICS',
        `${q(metricsText)} is not a comma-separated list of metric names (${bad.map((m) => q(m)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a name); write e.g. dns,drop,tcp,flow`,
      );
    } else if (dupes.length) {
      problem('HUBBLE_METRICS', `lists ${[...new Set(dupes)].join(', ')} more than once`);
    }
  }

  // ---- the echo app ----
  const namespace = required('ECHO_NAMESPACE') ?? '';
  if (namespace !== '' && (namespace.length > 63 || !DNS1123_LABEL_RE.test(namespace))) {
    problem('ECHO_NAMESPACE', `${q(namespace)} is not a valid namespace name: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`);
  }
  const echoName = required('ECHO_NAME') ?? '';
  if (echoName !== '' && (echoName.length > 63 || !DNS1035_LABEL_RE.test(echoName))) {
    problem('ECHO_NAME', `${q(echoName)} is not a valid Service name: at most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit`);
  }
  const replicas = integer('ECHO_REPLICAS', 1, Number.MAX_SAFE_INTEGER, 'the echo Deployment needs at least 1 replica') ?? 0;
  const servicePort = port('ECHO_SERVICE_PORT') ?? 0;
  const targetPort = port('ECHO_TARGET_PORT') ?? 0;
  const affinityText = value('ECHO_AFFINITY');
  /** @type {'local' | 'remote' | ''} */
  let affinity = '';
  if (affinityText === 'local' || affinityText === 'remote' || affinityText === '') {
    affinity = affinityText;
  } else if (affinityText.toLowerCase() === 'none') {
    problem(
      'ECHO_AFFINITY',
      `"${affinityText}" drops all remote backends since Cilium 1.18.10 (cilium/cilium#46623), so failover would never reach the other cluster; leave ECHO_AFFINITY empty to leave the annotation out`,
    );
  } else {
    problem('ECHO_AFFINITY', `${q(affinityText)} must be local, remote, or empty (no service.cilium.io/affinity annotation)`);
  }

  const timeouts = {
    cilium: duration('TIMEOUT_CILIUM'),
    resources: duration('TIMEOUT_RESOURCES'),
    mesh: duration('TIMEOUT_MESH'),
    rollout: duration('TIMEOUT_ROLLOUT'),
    http: duration('TIMEOUT_HTTP'),
    failover: duration('TIMEOUT_FAILOVER'),
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
    meshServiceType: /** @type {'LoadBalancer' | 'NodePort'} */ (serviceType),
    hubble: { enabled: hubbleEnabled === true, relay: relay === true, ui: ui === true, metrics },
    echo: { namespace, name: echoName, replicas, servicePort, targetPort, affinity },
    timeouts,
  };
  return { config: deepFreeze(config), problems: [] };
}

/**
 * What Config.k3s keeps of a K3s kubeconfig (no CA data: step 00 reads the file again).
 * @param {K3sFileInfo} info
 */
const k3sInput = (info) => ({ file: info.file, context: info.context, cluster: info.cluster, user: info.user, server: info.server });

/**
 * Checks an explicitly given API host; returns it (as given) for the config.
 * @param {string} variable
 * @param {string} host
 * @param {(variable: string, message: string) => void} problem
 * @param {string} portVariable
 */
function checkHost(variable, host, problem, portVariable) {
  const fixHint = `set ${variable} to the server's address every node can reach (its LAN IP)`;
  if (host.includes('://')) {
    const hp = serverHostPort(host);
    problem(variable, `${q(host)} is a URL; give the host alone${hp ? ` (${hp.host})` : ''} and the port in ${portVariable}`);
  } else if (host.startsWith('[') && host.endsWith(']') && isIPv6(host)) {
    problem(variable, `${q(host)}: write an IPv6 address without brackets (${host.slice(1, -1)})`);
  } else if (isIPv6(host)) {
    if (isLoopbackHost(host)) problem(variable, `${q(host)} is the loopback address, which other nodes cannot reach; ${fixHint}`);
    else if (isUnspecifiedHost(host)) problem(variable, `${q(host)} is the unspecified address, which no node can connect to; ${fixHint}`);
  } else if (/^[^:]+:\d*$/.test(host)) {
    problem(variable, `${q(host)} has a port; give the host alone (${host.split(':')[0]}) and the port in ${portVariable}`);
  } else if (/^[0-9.]+$/.test(host)) {
    try {
      parseIPv4(host);
      if (isLoopbackHost(host)) {
        problem(variable, `${q(host)} is a loopback address: Cilium on other nodes would try to reach the API server on themselves. A K3s kubeconfig points at 127.0.0.1; ${fixHint}`);
      } else if (isUnspecifiedHost(host)) {
        problem(variable, `${q(host)} is the unspecified address, which no node can connect to; ${fixHint}`);
      }
    } catch (err) {
      problem(variable, err instanceof NetError ? err.message : String(err));
    }
  } else if (!HOSTNAME_RE.test(host)) {
    problem(variable, `${q(host)} is not a host name or IP address`);
  } else if (isLoopbackHost(host)) {
    problem(variable, `${q(host)} names this machine itself (localhost), which other nodes cannot reach. A K3s kubeconfig points at 127.0.0.1; ${fixHint}`);
  }
  return host;
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

/** Whether a file does not exist yet or holds nothing but whitespace (step 00 may create it). @param {string} file */
function isMissingOrBlank(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim() === '';
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT';
  }
}

/**
 * Reads the settings: the env file (opts.envFile, else RUNBOOK_ENV, else .env in
 * cwd), the environment on top (it wins), defaults under both; then the
 * kubeconfig. Throws ConfigError listing every problem; returns a frozen Config.
 * @param {{ env?: Record<string, string | undefined>, envFile?: string, cwd?: string }} [opts]
 * @returns {Config}
 * @throws {ConfigError}
 */
export function loadConfig(opts = {}) {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
  /** @type {ConfigProblem[]} */
  const problems = [];

  // the env file
  const runbookEnv = env.RUNBOOK_ENV?.trim() ? env.RUNBOOK_ENV.trim() : undefined;
  const named = opts.envFile ?? runbookEnv;
  const file = named !== undefined ? path.resolve(cwd, expandHome(named, home)) : path.join(cwd, '.env');
  /** @type {string | null} */
  let envFile = null;
  /** @type {Record<string, string>} */
  let fileVars = {};
  try {
    fileVars = dotenv.parse(fs.readFileSync(file, 'utf8'));
    envFile = file;
  } catch (err) {
    const code = /** @type {NodeJS.ErrnoException} */ (err).code;
    const cp = `cp env.example ${path.relative(cwd, file) || file}`;
    if (code === 'ENOENT' && named === undefined) {
      // no .env: defaults and the environment apply
    } else if (code === 'ENOENT' && opts.envFile !== undefined) {
      problem(`the env file ${file} does not exist; create it (${cp})`);
    } else if (code === 'ENOENT') {
      problem(`names ${file}, which does not exist; create it (${cp}), or unset RUNBOOK_ENV to use .env in the current folder`);
    } else {
      problem(`cannot read the env file ${file} (${code ?? String(err)})`);
    }
  }
  /** @param {string} message */
  function problem(message) {
    problems.push({ variable: 'RUNBOOK_ENV', message });
  }
  problems.push(...findUnknownVariables(Object.keys(fileVars)));

  /** @type {Record<string, string | undefined>} */
  const vars = {};
  for (const name of VARIABLES) vars[name] = env[name] !== undefined ? env[name] : fileVars[name];

  const kubeconfigValue = (vars.KUBECONFIG ?? '').trim() || DEFAULTS.KUBECONFIG;
  /** @type {KubeconfigInfo} */
  let kube = tryReadKubeconfig(kubeconfigValue, { home, cwd });
  // Step 00's inputs, and the file it writes (KUBECONFIG's first entry), which may not exist yet.
  const target = resolveKubeconfigPaths(kubeconfigValue, { home, cwd })[0] ?? '';
  /** @type {Partial<Record<ClusterKey, K3sFileInfo | { error: string }>>} */
  const k3s = {};
  for (const key of /** @type {ClusterKey[]} */ (['a', 'b'])) {
    const v = (vars[`CLUSTER_${key.toUpperCase()}_K3S_KUBECONFIG`] ?? '').trim();
    if (v !== '') k3s[key] = readK3sInput(v, { home, cwd, target });
  }
  if ((k3s.a || k3s.b) && 'error' in kube && isMissingOrBlank(target)) kube = { contexts: new Map() };
  const result = buildConfig(vars, kube, { envFile, home, cwd, k3s });
  problems.push(...result.problems);
  if (problems.length > 0 || result.config === null) {
    throw new ConfigError(problems, envFile ? `env file ${envFile}` : 'no env file; defaults and environment');
  }
  return result.config;
}
