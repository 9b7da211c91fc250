// @ts-check
// Every variable the runbook reads, in env.example's order: its default, whether
// it may be empty, and the parser that checks it (config-parsers.mjs). What a
// variable means together with others is in config-cluster.mjs and config-checks.mjs.
import * as p from './config-parsers.mjs';

/** @typedef {import('./types.d.ts').ClusterKey} ClusterKey */
/** @typedef {import('./config-parsers.mjs').Parser} Parser */
/**
 * @typedef {object} Setting
 * @property {string} name
 * @property {string} default    used when the variable is not given at all
 * @property {boolean} empty     whether '' is allowed (and means something: derived, left out, none)
 * @property {Parser} parse      checks the trimmed text and returns the value
 */

/**
 * @param {string} name
 * @param {string} dflt
 * @param {Parser} parse
 * @param {{ empty?: boolean }} [opts]
 * @returns {Setting}
 */
const row = (name, dflt, parse, opts = {}) => ({ name, default: dflt, empty: opts.empty ?? false, parse });

const ID_RANGE = 'a cluster ID must be from 1 to 255 (0 means "not part of a mesh"; IDs above 255 need clustermesh.maxConnectedClusters=511, which this runbook does not set)';

/**
 * One cluster's variables. Empty API host/port: from the kubeconfig; empty
 * kubeconfig server: step 00 derives it from the API host.
 * @param {ClusterKey} key
 * @param {Record<string, string>} d the cluster's defaults
 * @returns {Setting[]}
 */
const cluster = (key, d) => {
  const V = (/** @type {string} */ s) => `CLUSTER_${key.toUpperCase()}_${s}`;
  return [
    row(V('CONTEXT'), d.CONTEXT, p.text),
    row(V('NAME'), d.NAME, p.clusterName(key)),
    row(V('ID'), d.ID, p.integer(1, 255, ID_RANGE)),
    row(V('POD_CIDR'), d.POD_CIDR, p.podCidr),
    row(V('SERVICE_CIDR'), d.SERVICE_CIDR, p.cidr),
    row(V('API_HOST'), '', p.text, { empty: true }),
    row(V('API_PORT'), '', p.port, { empty: true }),
    row(V('KUBECONFIG_SERVER'), '', p.text, { empty: true }),
    row(V('MESH_IP'), d.MESH_IP, p.ipv4),
    row(V('APP_POOL_START'), d.APP_POOL_START, p.ipv4),
    row(V('APP_POOL_STOP'), d.APP_POOL_STOP, p.ipv4),
    row(V('ECHO_IMAGE'), d.ECHO_IMAGE, p.image(key)),
    row(V('ECHO_PAGE'), d.ECHO_PAGE, p.text),
  ];
};

/** @type {readonly Setting[]} */
export const SETTINGS = Object.freeze([
  row('KUBECONFIG', '~/.kube/config', p.text, { empty: true }), // empty: kubectl's default
  row('CLUSTER_A_K3S_KUBECONFIG', '', p.text, { empty: true }), // empty: no step 00
  row('CLUSTER_B_K3S_KUBECONFIG', '', p.text, { empty: true }),
  row('CILIUM_VERSION', '1.19.3', p.ciliumVersion),
  ...cluster('a', {
    CONTEXT: 'cluster-a',
    NAME: 'cluster-a',
    ID: '1',
    POD_CIDR: '10.42.0.0/16',
    SERVICE_CIDR: '10.96.0.0/12',
    MESH_IP: '192.168.254.220',
    APP_POOL_START: '192.168.254.230',
    APP_POOL_STOP: '192.168.254.239',
    ECHO_IMAGE: 'mcbtaguiad/web-echo:cluster-a',
    ECHO_PAGE: 'Cluster A',
  }),
  ...cluster('b', {
    CONTEXT: 'cluster-b',
    NAME: 'cluster-b',
    ID: '2',
    POD_CIDR: '10.43.0.0/16',
    // The article writes 10.97.0.0/12, which is not a network address: the /12
    // holding 10.97.x.x is 10.96.0.0/12, cluster A's range.
    SERVICE_CIDR: '10.112.0.0/12',
    MESH_IP: '192.168.254.221',
    APP_POOL_START: '192.168.254.240',
    APP_POOL_STOP: '192.168.254.249',
    ECHO_IMAGE: 'mcbtaguiad/web-echo:cluster-b',
    ECHO_PAGE: 'Cluster B',
  }),
  row('MESH_SERVICE_TYPE', 'LoadBalancer', p.serviceType),
  row('HUBBLE_ENABLED', 'true', p.boolean),
  row('HUBBLE_RELAY_ENABLED', 'true', p.boolean),
  row('HUBBLE_UI_ENABLED', 'true', p.boolean),
  row('HUBBLE_METRICS', 'dns,drop,tcp,flow,port-distribution,icmp,http', p.metricList, { empty: true }), // empty: none
  row('ECHO_NAMESPACE', 'echo', p.namespace),
  row('ECHO_NAME', 'echo', p.serviceName),
  row('ECHO_REPLICAS', '1', p.integer(1, Number.MAX_SAFE_INTEGER, 'the echo Deployment needs at least 1 replica')),
  row('ECHO_SERVICE_PORT', '80', p.port),
  row('ECHO_TARGET_PORT', '80', p.port),
  row('ECHO_AFFINITY', 'local', p.affinity, { empty: true }), // empty: no annotation
  row('TIMEOUT_CILIUM', '5m', p.duration),
  row('TIMEOUT_RESOURCES', '2m', p.duration),
  row('TIMEOUT_MESH', '5m', p.duration),
  row('TIMEOUT_ROLLOUT', '3m', p.duration),
  row('TIMEOUT_HTTP', '5s', p.duration),
  row('TIMEOUT_FAILOVER', '2m', p.duration),
]);

/** The settings by name. */
export const BY_NAME = new Map(SETTINGS.map((s) => [s.name, s]));

/**
 * Every variable's default ('' = empty is allowed and means something).
 * @type {Readonly<Record<string, string>>}
 */
export const DEFAULTS = Object.freeze(Object.fromEntries(SETTINGS.map((s) => [s.name, s.default])));

/** The names of all variables the runbook reads, in env.example's order. */
export const VARIABLES = Object.freeze(SETTINGS.map((s) => s.name));

/** Env-file names with these prefixes are taken to be meant for the runbook. */
export const OUR_PREFIXES = ['CLUSTER_A_', 'CLUSTER_B_', 'CLUSTER_', 'CILIUM_', 'MESH_', 'HUBBLE_', 'ECHO_', 'TIMEOUT_', 'KUBE'];
