// @ts-check
// The runbook as a user runs it against the real backend (tools/real-backend/
// backend.mjs): an env file with the backend's kubeconfig and contexts,
// loopback LoadBalancer addresses and short timeouts, and the process
// environment of a step (real kubectl first on PATH; the real cilium CLI when
// there is one, else the stand-in).
import { mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { realCiliumDir } from './real-cilium.mjs';
import { auditMark, runbookMutations } from '../../tools/real-backend/audit.mjs';
import { OTHER_VARS } from './config-fixture.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The article's settings on the real backend: its CIDRs, LB addresses on loopback, short timeouts. */
export const REAL_ARTICLE_VARS = Object.freeze({
  CLUSTER_A_CONTEXT: 'cluster-a', CLUSTER_B_CONTEXT: 'cluster-b',
  CLUSTER_A_API_HOST: 'k3s-a-server', CLUSTER_A_API_PORT: '6443', CLUSTER_B_API_HOST: 'k3s-b-server', CLUSTER_B_API_PORT: '6443',
  CLUSTER_A_POD_CIDR: '10.42.0.0/16', CLUSTER_A_SERVICE_CIDR: '10.96.0.0/12',
  CLUSTER_B_POD_CIDR: '10.43.0.0/16', CLUSTER_B_SERVICE_CIDR: '10.112.0.0/12',
  CLUSTER_A_MESH_IP: '127.0.254.220', CLUSTER_B_MESH_IP: '127.0.254.221',
  CLUSTER_A_APP_POOL_START: '127.0.254.230', CLUSTER_A_APP_POOL_STOP: '127.0.254.239',
  CLUSTER_B_APP_POOL_START: '127.0.254.240', CLUSTER_B_APP_POOL_STOP: '127.0.254.249',
  ECHO_SERVICE_PORT: '8080', TIMEOUT_CILIUM: '60s', TIMEOUT_RESOURCES: '60s', TIMEOUT_MESH: '60s', TIMEOUT_ROLLOUT: '60s',
  TIMEOUT_HTTP: '2s', TIMEOUT_FAILOVER: '60s',
});

/**
 * OTHER_VARS (test/support/config-fixture.mjs, every value differs from the
 * article's) on the real backend: mesh IPs and app pools on loopback instead
 * (127.0.253.x; the data plane serves loopback only), API hosts as names
 * nothing connects to (the runbook refuses a loopback API host), echo pages
 * the web-echo model serves for its images' tags ("hello:east" shows "East"),
 * Hubble itself on, short timeouts. KUBECONFIG comes from realRunbookEnv.
 */
export const REAL_OTHER_VARS = Object.freeze({
  CILIUM_VERSION: OTHER_VARS.CILIUM_VERSION,
  CLUSTER_A_CONTEXT: OTHER_VARS.CLUSTER_A_CONTEXT, CLUSTER_B_CONTEXT: OTHER_VARS.CLUSTER_B_CONTEXT,
  CLUSTER_A_NAME: OTHER_VARS.CLUSTER_A_NAME, CLUSTER_A_ID: OTHER_VARS.CLUSTER_A_ID,
  CLUSTER_B_NAME: OTHER_VARS.CLUSTER_B_NAME, CLUSTER_B_ID: OTHER_VARS.CLUSTER_B_ID,
  CLUSTER_A_API_HOST: 'east-api.lab.internal', CLUSTER_A_API_PORT: OTHER_VARS.CLUSTER_A_API_PORT,
  CLUSTER_B_API_HOST: 'west-api.lab.internal', CLUSTER_B_API_PORT: OTHER_VARS.CLUSTER_B_API_PORT,
  CLUSTER_A_POD_CIDR: OTHER_VARS.CLUSTER_A_POD_CIDR, CLUSTER_A_SERVICE_CIDR: OTHER_VARS.CLUSTER_A_SERVICE_CIDR,
  CLUSTER_B_POD_CIDR: OTHER_VARS.CLUSTER_B_POD_CIDR, CLUSTER_B_SERVICE_CIDR: OTHER_VARS.CLUSTER_B_SERVICE_CIDR,
  CLUSTER_A_MESH_IP: '127.0.253.20', CLUSTER_B_MESH_IP: '127.0.253.21',
  CLUSTER_A_APP_POOL_START: '127.0.253.100', CLUSTER_A_APP_POOL_STOP: '127.0.253.109',
  CLUSTER_B_APP_POOL_START: '127.0.253.110', CLUSTER_B_APP_POOL_STOP: '127.0.253.119',
  CLUSTER_A_ECHO_IMAGE: OTHER_VARS.CLUSTER_A_ECHO_IMAGE, CLUSTER_A_ECHO_PAGE: 'East',
  CLUSTER_B_ECHO_IMAGE: OTHER_VARS.CLUSTER_B_ECHO_IMAGE, CLUSTER_B_ECHO_PAGE: 'West',
  MESH_SERVICE_TYPE: OTHER_VARS.MESH_SERVICE_TYPE,
  // Hubble on, Relay and UI off (HUBBLE_ENABLED=false is refused: step 02 needs the CA it makes).
  HUBBLE_ENABLED: OTHER_VARS.HUBBLE_ENABLED, HUBBLE_RELAY_ENABLED: OTHER_VARS.HUBBLE_RELAY_ENABLED,
  HUBBLE_UI_ENABLED: OTHER_VARS.HUBBLE_UI_ENABLED, HUBBLE_METRICS: OTHER_VARS.HUBBLE_METRICS,
  ECHO_NAMESPACE: OTHER_VARS.ECHO_NAMESPACE, ECHO_NAME: OTHER_VARS.ECHO_NAME, ECHO_REPLICAS: OTHER_VARS.ECHO_REPLICAS,
  ECHO_SERVICE_PORT: OTHER_VARS.ECHO_SERVICE_PORT, ECHO_TARGET_PORT: OTHER_VARS.ECHO_TARGET_PORT, ECHO_AFFINITY: OTHER_VARS.ECHO_AFFINITY,
  TIMEOUT_CILIUM: '90s', TIMEOUT_RESOURCES: '75s', TIMEOUT_MESH: '80s', TIMEOUT_ROLLOUT: '70s',
  TIMEOUT_HTTP: '3s', TIMEOUT_FAILOVER: OTHER_VARS.TIMEOUT_FAILOVER,
});

/**
 * Writes `dir`/runbook.env (mode 0600) and returns the environment a step runs in.
 * @param {string} dir @param {string} kubeconfig
 * @param {{ vars?: Record<string, string>, cilium?: string }} [o] vars: the settings
 *   (default REAL_ARTICLE_VARS); cilium: the real CLI's path (default: the stand-in)
 */
export function realRunbookEnv(dir, kubeconfig, o = {}) {
  const vars = { KUBECONFIG: kubeconfig, ...(o.vars ?? REAL_ARTICLE_VARS) };
  const file = join(dir, 'runbook.env');
  writeFileSync(file, Object.entries(vars).map(([n, v]) => `${n}=${v}\n`).join(''), { mode: 0o600 });
  const env = Object.fromEntries(Object.entries(process.env).filter(([n]) => !/^(CLUSTER_[AB]_|CILIUM|MESH_|HUBBLE_|ECHO_|TIMEOUT_)/.test(n)));
  const diagnostics = join(dir, 'diagnostics');
  mkdirSync(diagnostics, { recursive: true });
  return { ...env, RUNBOOK_ENV: file, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, 'kube-cache'), RUNBOOK_DIAGNOSTICS_DIR: diagnostics,
    RUNBOOK_FAILOVER_DIR: join(dir, 'failover'),
    PATH: [o.cilium ? realCiliumDir(dir, o.cilium) : join(ROOT, 'twin', 'bin'), join(ROOT, '.tools', 'bin'), process.env.PATH ?? ''].join(delimiter) };
}

/** @typedef {{ clusters: Record<'a' | 'b', { auditLog: string }> }} Audited a backend whose apiservers keep audit logs */

/** Where both apiservers' audit logs end now. @param {Audited} b */
export const auditMarks = (b) => ({ a: auditMark(b.clusters.a.auditLog), b: auditMark(b.clusters.b.auditLog) });

/**
 * The mutating requests of the runbook's clients since `marks`, one line each
 * ("a PATCH /api/... (200, kubectl/v1.33...)").
 * @param {Audited} b @param {ReturnType<typeof auditMarks>} marks
 */
export function runbookWritesSince(b, marks) {
  return /** @type {const} */ (['a', 'b']).flatMap((k) => runbookMutations(b.clusters[k].auditLog, marks[k])
    .map((w) => `${k} ${w.verb} ${w.uri} (${w.code}, ${w.userAgent})`));
}
