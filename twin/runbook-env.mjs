// @ts-check
// The runbook's env file for a running twin: the twin's kubeconfig and
// contexts, and addresses that exist on this machine — every LoadBalancer IP is
// in 127.0.0.0/8, where the twin's data plane listens without any setup.
// Everything else keeps the article's values, so a rehearsal reads like the real
// thing.
import { accessSync, constants, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, delimiter, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netLayout } from './hosting.mjs';

/**
 * A twin as these helpers read it: a running one also has its net and CIDRs.
 * @typedef {import('./types.js').Twin & { net?: string, options: { podCidr?: Record<'a' | 'b', string>, serviceCidr?: Record<'a' | 'b', string> } }} Twin
 */

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
  const l = netLayout(opts.net ?? twin.net ?? '127.0');
  const cidrs = (/** @type {'a' | 'b'} */ k) => ({
    ...(twin.options.podCidr ? { [`CLUSTER_${k.toUpperCase()}_POD_CIDR`]: twin.options.podCidr[k] } : {}),
    ...(twin.options.serviceCidr ? { [`CLUSTER_${k.toUpperCase()}_SERVICE_CIDR`]: twin.options.serviceCidr[k] } : {}),
  });
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
    // The ranges the twin's K3s servers were started with (--cluster-cidr, --service-cidr).
    ...cidrs('a'),
    ...cidrs('b'),
    CLUSTER_A_MESH_IP: l.meshIp.a,
    CLUSTER_B_MESH_IP: l.meshIp.b,
    CLUSTER_A_APP_POOL_START: l.appPool.a[0],
    CLUSTER_A_APP_POOL_STOP: l.appPool.a[1],
    CLUSTER_B_APP_POOL_START: l.appPool.b[0],
    CLUSTER_B_APP_POOL_STOP: l.appPool.b[1],
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
 * CILIUM from the environment, checked before anything starts: on a problem
 * the process ends (exit 2) saying what is wrong.
 * @returns {string | undefined}
 */
export function ciliumFromEnv() {
  try {
    return checkCilium(process.env.CILIUM);
  } catch (err) {
    console.error(`✘ ${/** @type {Error} */ (err).message}`);
    process.exit(2);
  }
}

/**
 * The environment for running the runbook against the twin: its env file,
 * the cilium stand-in or `cilium` (a folder holding the CILIUM binary, see
 * ciliumBinDir), a kubectl installed by tools/ensure-kubectl.mjs first on
 * PATH, and a kubectl cache of its own.
 * @param {Twin} twin
 * @param {string} envFile
 * @param {{ ciliumBin?: string }} [o]
 * @returns {NodeJS.ProcessEnv}
 */
export function processEnvFor(twin, envFile, o = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(CLUSTER_[AB]_|CILIUM_|MESH_|HUBBLE_|ECHO_|TIMEOUT_)/.test(k) || k === 'CILIUM') delete env[k];
  return {
    ...env,
    RUNBOOK_ENV: envFile,
    KUBECONFIG: twin.kubeconfig,
    KUBECACHEDIR: join(twin.dir, 'kube-cache'),
    PATH: [o.ciliumBin ?? TWIN_BIN, TOOLS_BIN, process.env.PATH ?? ''].join(delimiter),
  };
}

/**
 * Checks the CILIUM variable (a cilium binary to use instead of the stand-in).
 * @param {string | undefined} value
 * @returns {string | undefined} its absolute path, undefined when unset
 * @throws {Error} saying what is wrong with it
 */
export function checkCilium(value) {
  if (!value?.trim()) return undefined;
  const file = resolve(value.trim());
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new Error(`CILIUM=${value}: no such file. Give the path of a cilium binary (e.g. the real CLI v0.19.x), or unset CILIUM to use the twin's stand-in.`);
  }
  if (st.isDirectory()) throw new Error(`CILIUM=${value} is a folder: give the cilium binary itself (e.g. ${join(file, 'cilium')}).`);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`CILIUM=${value} is not executable: chmod +x ${file}, or give another binary.`);
  }
  return file;
}

/**
 * A folder in the twin's own folder holding `cilium` -> the given binary, to
 * put first on PATH.
 * @param {Twin} twin @param {string} bin absolute path
 */
export function ciliumBinDir(twin, bin) {
  const dir = join(twin.dir, 'bin');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  symlinkSync(bin, join(dir, 'cilium'));
  return dir;
}

/**
 * The PATH line to print for a shell: the folders the twin adds, before the
 * user's own $PATH (never npm's run-script folders).
 * @param {string[]} dirs
 */
export function pathExport(dirs) {
  const quoted = dirs.map((d) => d.replace(/\/$/, '').replace(/["$`\\]/g, '\\$&'));
  return `export PATH="${[...quoted, '$PATH'].join(delimiter)}"`;
}
