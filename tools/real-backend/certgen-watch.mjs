// @ts-check
// What stands in for the certgen container (quay.io/cilium/certgen, the chart's
// `*-generate-certs` Jobs) on a real-backend cluster, where kwok only makes pods
// Running: once a second it looks for Running pods in kube-system with a certgen
// container, does certgen's work for each pod once (twin/controllers/certgen.mjs:
// the CA Secret read when reuse is asked, the Secrets created or replaced on the
// apiserver), then reports the pod finished as a kubelet would: Succeeded, exit 0,
// or Failed, exit 1 with the error as message. The real Job controller then
// completes the Job, or makes a new pod (where a kubelet, with restartPolicy
// OnFailure, would restart the container in place).
import { adminGet, adminRequest, statusMessage } from './apiserver.mjs';
import { everySecond } from './poll.mjs';
import { certgenCa, certgenSecrets, isCertgen } from '../../twin/controllers/certgen.mjs';

/** @typedef {import('../../twin/store/types.js').KubeObject} KubeObject */
/** @typedef {import('./cluster.mjs').RealCluster} RealCluster */

const NS = 'kube-system';
const PODS = `/api/v1/namespaces/${NS}/pods`;

/**
 * The Secret `ns/name`, or undefined when there is none.
 * @param {RealCluster} c @param {string} ns @param {string} name @returns {Promise<KubeObject | undefined>}
 */
async function getSecret(c, ns, name) {
  const path = `/api/v1/namespaces/${ns}/secrets/${name}`;
  const r = await adminGet(c.server, c.pki, path);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`reading secret ${ns}/${name}: ${statusMessage(r)}`);
  return JSON.parse(r.body);
}

/**
 * Creates the Secret, or replaces it (current resourceVersion) when it exists, as certgen does.
 * @param {RealCluster} c @param {KubeObject} secret
 */
async function createOrReplace(c, secret) {
  const ns = secret.metadata.namespace ?? NS;
  const name = secret.metadata.name;
  const created = await adminRequest(c.server, c.pki, 'POST', `/api/v1/namespaces/${ns}/secrets`, secret);
  if (created.status === 201) return;
  if (created.status !== 409) throw new Error(`creating secret ${ns}/${name}: ${statusMessage(created)}`);
  const live = await getSecret(c, ns, name);
  if (!live) throw new Error(`updating secret ${ns}/${name}: it went away`);
  const body = { ...secret, metadata: { ...secret.metadata, resourceVersion: live.metadata.resourceVersion } };
  const updated = await adminRequest(c.server, c.pki, 'PUT', `/api/v1/namespaces/${ns}/secrets/${name}`, body);
  if (updated.status !== 200) throw new Error(`updating secret ${ns}/${name}: ${statusMessage(updated)}`);
}

/**
 * certgen's work for the pod's certgen containers: the names of the Secrets written.
 * @param {RealCluster} c @param {KubeObject} pod
 */
async function runOnApiserver(c, pod) {
  /** @type {string[]} */
  const written = [];
  for (const container of pod.spec.containers ?? []) {
    if (!isCertgen(container)) continue;
    const ref = certgenCa(NS, container);
    const existing = ref.read ? await getSecret(c, ref.namespace, ref.name) : undefined;
    for (const s of await certgenSecrets(NS, container, existing)) {
      await createOrReplace(c, s);
      written.push(s.metadata.name);
    }
  }
  return written;
}

/**
 * The pod's status once its containers ended, as a kubelet reports it.
 * @param {any} status the Running status kwok wrote @param {string} error '' on success
 */
function finishedStatus(status, error) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    ...status,
    phase: error ? 'Failed' : 'Succeeded',
    conditions: (status.conditions ?? []).map((/** @type {any} */ c) => (c.type === 'Ready' || c.type === 'ContainersReady'
      ? { ...c, status: 'False', reason: 'PodCompleted', lastTransitionTime: now } : c)),
    containerStatuses: (status.containerStatuses ?? []).map((/** @type {any} */ cs) => ({
      ...cs, ready: false, started: false,
      state: { terminated: {
        exitCode: error ? 1 : 0, reason: error ? 'Error' : 'Completed', ...(error ? { message: error } : {}),
        startedAt: cs.state?.running?.startedAt ?? now, finishedAt: now,
      } },
    })),
  };
}

/**
 * Writes the finished status of pod `name` (uid `uid`), unless it is gone or no longer Running.
 * @param {RealCluster} c @param {string} name @param {string} uid @param {string} error
 */
async function finish(c, name, uid, error) {
  const r = await adminRequest(c.server, c.pki, 'GET', `${PODS}/${name}`);
  if (r.status === 404) return;
  if (r.status !== 200) throw new Error(`reading pod ${name}: ${statusMessage(r)}`);
  const pod = JSON.parse(r.body);
  if (pod.metadata.uid !== uid || pod.status?.phase !== 'Running') return;
  const put = await adminRequest(c.server, c.pki, 'PUT', `${PODS}/${name}/status`, { ...pod, status: finishedStatus(pod.status, error) });
  if (put.status !== 200) throw new Error(`writing the status of pod ${name}: ${statusMessage(put)}`);
}

/**
 * @param {{ cluster: RealCluster, log?: (line: string) => void }} o
 *   log: one line per certgen pod handled, and one per failure to reach the apiserver
 * @returns {{ stop: () => Promise<void> }}
 */
export function watchCertgen(o) {
  const c = o.cluster;
  const log = o.log ?? (() => {});
  /** uids of the pods whose work is done */
  const handled = new Set();
  /** @type {Map<string, { name: string, error: string }>} uid -> outcome whose status is not written yet */
  const unreported = new Map();
  return everySecond(async (stopped) => {
    const r = await adminRequest(c.server, c.pki, 'GET', `${PODS}?fieldSelector=${encodeURIComponent('status.phase=Running')}`);
    if (r.status !== 200) throw new Error(`listing pods: ${statusMessage(r)}`);
    /** @type {KubeObject[]} */
    const pods = (JSON.parse(r.body).items ?? []).filter((/** @type {KubeObject} */ p) => !p.metadata.deletionTimestamp
      && (p.spec.containers ?? []).some(isCertgen));
    const running = new Set(pods.map((p) => p.metadata.uid));
    for (const uid of unreported.keys()) if (!running.has(uid)) unreported.delete(uid);
    for (const pod of pods) {
      if (stopped()) return;
      const uid = String(pod.metadata.uid);
      const name = pod.metadata.name;
      if (!handled.has(uid)) {
        handled.add(uid);
        let error = '';
        /** @type {string[]} */
        let written = [];
        try {
          written = await runOnApiserver(c, pod);
        } catch (e) {
          error = /** @type {Error} */ (e).message.split('\n')[0];
        }
        unreported.set(uid, { name, error });
        log(error ? `certgen pod ${NS}/${name}: failed: ${error}` : `certgen pod ${NS}/${name}: wrote secrets ${written.join(', ') || '(none)'}`);
      }
      const outcome = unreported.get(uid);
      if (outcome) {
        await finish(c, outcome.name, uid, outcome.error); // throws to retry on the next tick
        unreported.delete(uid);
      }
    }
  }, log, 'certgen');
}
