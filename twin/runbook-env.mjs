// @ts-check
// The runbook's env file for a running twin: the twin's kubeconfig and
// contexts, and addresses that exist on this machine — every LoadBalancer IP is
// in 127.0.0.0/8, where the twin's data plane listens without any setup.
// Everything else keeps the article's values, so a rehearsal reads like the real
// thing.
import { writeFileSync } from 'node:fs';
import { join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {import('./types.js').Twin} Twin */

export const TWIN_BIN = fileURLToPath(new URL('./bin/', import.meta.url));
export const TOOLS_BIN = fileURLToPath(new URL('../.tools/bin/', import.meta.url));

/**
 * Variables for the runbook against this twin.
 * @param {Twin} twin
 * @param {{ net?: string, overrides?: Record<string, string> }} [opts]
 *   net: the first two octets of the addresses to use ("127.0" …); tests running
 *   twins side by side pick different ones.
 * @returns {Record<string, string>}
 */
export function twinEnv(twin, opts = {}) {
  const net = opts.net ?? '127.0';
  const server = (/** @type {'a' | 'b'} */ k) => twin.clusters[k].nodes[0]?.name ?? `k3s-${k}-server`;
  return {
    KUBECONFIG: twin.kubeconfig,
    CLUSTER_A_CONTEXT: twin.clusters.a.context,
    CLUSTER_B_CONTEXT: twin.clusters.b.context,
    // What the nodes use to reach their API server: the K3s server by name, as on a LAN.
    CLUSTER_A_API_HOST: server('a'),
    CLUSTER_A_API_PORT: '6443',
    CLUSTER_B_API_HOST: server('b'),
    CLUSTER_B_API_PORT: '6443',
    CLUSTER_A_MESH_IP: `${net}.254.220`,
    CLUSTER_B_MESH_IP: `${net}.254.221`,
    CLUSTER_A_APP_POOL_START: `${net}.254.230`,
    CLUSTER_A_APP_POOL_STOP: `${net}.254.239`,
    CLUSTER_B_APP_POOL_START: `${net}.254.240`,
    CLUSTER_B_APP_POOL_STOP: `${net}.254.249`,
    // Port 80 would need root on a workstation; the twin serves the echo VIPs here.
    ECHO_SERVICE_PORT: '8080',
    TIMEOUT_CILIUM: '60s',
    TIMEOUT_RESOURCES: '60s',
    TIMEOUT_MESH: '60s',
    TIMEOUT_ROLLOUT: '60s',
    TIMEOUT_HTTP: '2s',
    TIMEOUT_FAILOVER: '30s',
    ...opts.overrides,
  };
}

/**
 * Writes the env file into the twin's folder.
 * @param {Twin} twin
 * @param {Record<string, string>} vars
 * @returns {string} its path
 */
export function writeTwinEnv(twin, vars) {
  const file = join(twin.dir, 'runbook.env');
  const lines = ['# The runbook against the cluster twin (written by the twin; see env.example for each variable).',
    ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  return file;
}

/**
 * The environment for running the runbook against the twin: its env file,
 * the cilium stand-in (and a kubectl installed by tools/ensure-kubectl.mjs)
 * first on PATH, and a kubectl cache of its own.
 * @param {Twin} twin
 * @param {string} envFile
 * @returns {NodeJS.ProcessEnv}
 */
export function processEnvFor(twin, envFile) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(CLUSTER_[AB]_|CILIUM_|MESH_|HUBBLE_|ECHO_|TIMEOUT_)/.test(k)) delete env[k];
  return {
    ...env,
    RUNBOOK_ENV: envFile,
    KUBECONFIG: twin.kubeconfig,
    KUBECACHEDIR: join(twin.dir, 'kube-cache'),
    PATH: [TWIN_BIN, TOOLS_BIN, process.env.PATH ?? ''].join(delimiter),
  };
}
