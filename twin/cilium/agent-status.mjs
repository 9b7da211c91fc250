// @ts-check
// What `cilium status` learns from each running cilium-agent container, as
// cilium-cli's status/k8s.go gets it: exec `cilium status -o json` and
// `cilium endpoint list -o json` through the API server, then
// Status.parseStatusResponse / parseEndpointsResponse turn failing subsystems,
// failing controllers and endpoints not ready into errors and warnings.
import { execInPod } from './exec.mjs';
import { formatDuration } from './argv.mjs';

/** @typedef {import('./cmd-status.mjs').Status} Status */

/**
 * Asks every running agent, at once; fills s.ciliumStatus, s.ciliumEndpoints and s's errors.
 * @param {import('./kube.mjs').Kube} kube @param {string} ns @param {Status} s @param {string[]} pods
 */
export async function agentStatuses(kube, ns, s, pods) {
  await Promise.all(pods.map(async (pod) => {
    /** @type {any} */ let st = null;
    /** @type {any} */ let eps = null;
    /** @type {Error | null} */ let err = null;
    /** @type {Error | null} */ let epErr = null;
    try { st = parseJson(await execInPod(kube, ns, pod, 'cilium-agent', ['cilium', 'status', '-o', 'json']), 'unable to unmarshal response of cilium status'); } catch (e) { err = /** @type {Error} */ (e); }
    try { eps = parseJson(await execInPod(kube, ns, pod, 'cilium-agent', ['cilium', 'endpoint', 'list', '-o', 'json']), 'unable to unmarshal response'); } catch (e) { epErr = /** @type {Error} */ (e); }
    parseStatusResponse(s, 'cilium', pod, st, err);
    parseEndpointsResponse(s, 'cilium', pod, eps, epErr);
    s.ciliumStatus[pod] = st;
    s.ciliumEndpoints[pod] = eps;
  }));
}

/** @param {string} text @param {string} what */
function parseJson(text, what) {
  try { return JSON.parse(text); } catch (e) { throw new Error(`${what}: ${/** @type {Error} */ (e).message}`); }
}

/** Status.parseStatusResponse of the CLI. @param {Status} s @param {string} d @param {string} pod @param {any} r @param {Error | null} err */
function parseStatusResponse(s, d, pod, r, err) {
  if (err) { s.addError(d, pod, `unable to retrieve cilium status: ${err.message}`); return; }
  /** @param {string} sub @param {any} st */
  const state = (sub, st) => {
    if (!st) return;
    const v = String(st.state ?? '').toLowerCase();
    if (v === 'warning') s.addWarning(d, pod, `${sub}: ${st.msg ?? ''}`);
    if (v === 'failure') s.addError(d, pod, `${sub}: ${st.msg ?? ''}`);
  };
  state('Cilium', r.cilium);
  state('Health', r.cluster?.ciliumHealth);
  state('Hubble', r.hubble);
  state('Kubernetes', r.kubernetes);
  state('Kvstore', r.kvstore);
  state('AuthCertificateProvider', r['auth-certificate-provider']);
  for (const c of r.controllers ?? []) {
    const f = c?.status?.['consecutive-failure-count'] ?? 0;
    if (!f) continue;
    const since = Math.max(0, Math.floor((Date.now() - Date.parse(c.status['last-failure-timestamp'] ?? '')) / 1000)) || 0;
    s.addError(d, pod, `controller ${c.name} is failing since ${formatDuration(since * 1000)} (${f}x): ${c.status['last-failure-msg'] ?? ''}`);
  }
}

/** Status.parseEndpointsResponse of the CLI. @param {Status} s @param {string} d @param {string} pod @param {any} eps @param {Error | null} err */
function parseEndpointsResponse(s, d, pod, eps, err) {
  if (err) { s.addError(d, pod, `unable to retrieve cilium endpoint information: ${err.message}`); return; }
  const notReady = (eps ?? []).filter((/** @type {any} */ e) => e?.status?.state && e.status.state !== 'ready').length;
  if (notReady > 0) s.addWarning(d, pod, `${notReady} endpoints are not ready`);
}

