// @ts-check
// ClusterMesh (steps 06 and 07). `cilium clustermesh enable` deploys the
// clustermesh-apiserver, an etcd the other cluster reads, behind a Service of
// the configured type; `connect` gives each cluster the other's address and
// certificates (Helm upgrades on both). Both are checked before they run:
// re-running them would only add Helm revisions.
import { cilium } from './commands.mjs';
import { getObjects, deploymentReady, lbIp, ciliumRelease } from './probes.mjs';
import { ToolError } from './runtime.mjs';
import { POOL_RESOURCE, MESH_POOL } from './manifests.mjs';
import { caMismatchHint, saysCaMismatch, sameIpHint, sharedMeshIps } from './known-failures.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

export const APISERVER = 'clustermesh-apiserver';

/**
 * Step 06's check on one cluster: done when the clustermesh-apiserver is ready
 * and (type LoadBalancer) has the cluster's ClusterMesh IP; blocked when it is
 * enabled otherwise (another Service type, another IP) or step 04 is not done.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Promise<CheckResult>}
 */
export async function meshEnabled(rt, config, c) {
  const type = config.meshServiceType;
  const lb = type === 'LoadBalancer';
  let live;
  try {
    live = await getObjects(rt, c, 'kube-system', [`deploy/${APISERVER}`, `svc/${APISERVER}`, `${POOL_RESOURCE}/${MESH_POOL}`]);
  } catch (err) {
    if (err instanceof ToolError && /doesn't have a resource type/.test(err.stderr)) {
      return { state: 'blocked', message: `Cilium's pools are not available on ${c.context}: run steps 01–04 first.` };
    }
    throw err;
  }
  if (lb && !live.has(`ciliumloadbalancerippool/${MESH_POOL}`)) { // NodePort: step 04 makes no mesh pool
    return { state: 'blocked', message: `the ClusterMesh pool is missing on ${c.context}: run step 04 (npm run 04) first.` };
  }
  const svc = live.get(`service/${APISERVER}`);
  const deploy = live.get(`deployment/${APISERVER}`);
  if (!svc && !deploy) return { state: 'todo', detail: 'not enabled yet' };
  if (svc && svc.spec?.type !== type) {
    return {
      state: 'blocked',
      message: `ClusterMesh on ${c.context} is enabled with Service type ${svc.spec?.type}, not ${type}. ` +
        `Set MESH_SERVICE_TYPE=${svc.spec?.type}, or run \`cilium clustermesh disable --context ${c.context}\` and this step again.`,
    };
  }
  const ip = lbIp(svc);
  if (lb && ip && ip !== c.meshIp) return { state: 'blocked', message: wrongIp(c, ip) };
  if (deploymentReady(deploy) && (!lb || ip)) {
    return { state: 'done', detail: lb ? `reachable at ${ip}:2379` : 'NodePort' };
  }
  return { state: 'verify', detail: 'enabled; waiting for it to be ready' };
}

/**
 * Why step 06 failed on a cluster, when the Service shows it.
 * @param {Runtime} rt @param {Config} config @param {ClusterConfig} c
 */
export async function enableHint(rt, config, c) {
  const live = await getObjects(rt, c, 'kube-system', [`svc/${APISERVER}`]);
  const ip = lbIp(live.get(`service/${APISERVER}`));
  if (ip && ip !== c.meshIp) return wrongIp(c, ip);
  if (!ip && config.meshServiceType === 'LoadBalancer') {
    return `the ${APISERVER} Service has no LoadBalancer IP. Check that pool ${MESH_POOL} holds ${c.meshIp} and is not ` +
      `conflicting (\`kubectl --context ${c.context} get ippools\`), and that Cilium's operator runs.`;
  }
  return undefined;
}

/** @param {ClusterConfig} c @param {string} ip */
function wrongIp(c, ip) {
  return `${APISERVER} on ${c.context} got ${ip}, not ${c.meshIp}. If ${ip} is a node address, K3s's ServiceLB ` +
    'took the Service: start the K3s servers with --disable=servicelb (cilium/cilium#31957). Otherwise another pool ' +
    `matched first: check \`kubectl --context ${c.context} get ippools\`.`;
}

/**
 * `cilium clustermesh status -o json` of a cluster (exits 0 even when not
 * connected), or null when ClusterMesh is not enabled there: without the
 * clustermesh-apiserver Service the CLI fails ("unable to get clustermesh
 * service"), without Cilium at all too ("unable to retrieve ConfigMap
 * cilium-config"), and callers should name step 06 rather than show that error.
 * While the Service has no address yet or the Deployment is not ready (rolling
 * out) the CLI exits 1 at once with no JSON: then `{ notReady }` says what is
 * missing, with no access_information or connectivity (so nothing counts as connected).
 * @param {Runtime} rt
 * @param {ClusterConfig} c
 * @returns {Promise<any | null>}
 */
export async function meshStatus(rt, c) {
  try {
    return await rt.probeJson(cilium`clustermesh status --context ${c.context} -o json`);
  } catch (err) {
    if (!(err instanceof ToolError) || err.killed) throw err;
    if (new RegExp(`services? "${APISERVER}" not found|configmaps? "cilium-config" not found`).test(err.stderr)) return null;
    const missing = notReadyYet(err.stderr);
    if (missing) return { notReady: missing };
    throw err;
  }
}

/**
 * What `clustermesh status` says is not there yet, in words, or ''.
 * @param {string} stderr
 */
export function notReadyYet(stderr) {
  if (/unable to derive service IPs automatically/.test(stderr)) return `the ${APISERVER} Service has no address yet (no LoadBalancer IP)`;
  const deploy = new RegExp(`deployment ${APISERVER} is not ready: (.*)`).exec(stderr);
  if (deploy) return `the ${APISERVER} Deployment is not ready (${deploy[1].trim()})`;
  return '';
}

/**
 * How far one side's agents (and KVStoreMesh's replicas, when it reports) are
 * connected to the cluster named `remote`: fully only when every one of them
 * has it configured and connected and none is not ready. `configured` counts
 * only the agents that report the cluster at all, so connected == configured
 * alone says nothing about the rest (cilium clustermesh status's own rule).
 * @param {any} status `clustermesh status -o json` (counts are omitempty: missing means 0)
 * @param {string} remote
 * @returns {{ connected: boolean, detail: string }}
 */
export function peerConnection(status, remote) {
  /** @param {any} conn @param {string} who */
  const side = (conn, who) => {
    const entry = conn?.clusters?.[remote];
    const total = conn?.total ?? 0;
    const [configured, connected, notReady] = [entry?.configured ?? 0, entry?.connected ?? 0, conn?.not_ready ?? 0];
    const ok = Boolean(entry) && total > 0 && configured === total && connected === total && notReady === 0;
    return { ok, detail: `${who} ${configured}/${total} configured, ${connected}/${total} connected${notReady ? `, ${notReady} not ready` : ''}` };
  };
  const sides = [side(status?.connectivity, 'agents')];
  const kv = status?.kvstoremesh;
  if (kv?.enabled && kv.status) sides.push(side(kv.status, 'KVStoreMesh'));
  return { connected: sides.every((x) => x.ok), detail: `${remote}: ${sides.map((x) => x.detail).join('; ')}` };
}

/**
 * Is `c`'s mesh status fully connected to the cluster named `remote`?
 * @param {any} status
 * @param {string} remote
 */
export const connectedTo = (status, remote) => peerConnection(status, remote).connected;

/**
 * The names of the clusters a Cilium release's values configure as mesh peers
 * (clustermesh.config.clusters: a list of {name, …} before chart 1.20, a map after).
 * @param {Record<string, any> | undefined} values
 * @returns {string[]}
 */
export function meshPeers(values) {
  const clusters = values?.clustermesh?.config?.clusters;
  if (Array.isArray(clusters)) return clusters.map((x) => x?.name).filter((n) => typeof n === 'string');
  return clusters && typeof clusters === 'object' ? Object.keys(clusters) : [];
}

/**
 * Step 07's check: done when each side lists the other as connected, counted
 * as `cilium clustermesh status` counts; 'verify' when connect ran (both sides
 * have the other configured) and the agents are still connecting.
 * @param {Runtime} rt
 * @param {Config} config
 * @returns {Promise<CheckResult>}
 */
export async function meshConnection(rt, { a, b }) {
  const [sa, sb] = await Promise.all([meshStatus(rt, a), meshStatus(rt, b)]);
  const sides = /** @type {const} */ ([[a, sa], [b, sb]]);
  for (const [c, s] of sides) {
    if (!s || (!s.notReady && !s.access_information)) {
      return { state: 'blocked', message: `ClusterMesh is not enabled on ${c.context}: run step 06 (npm run 06) first.` };
    }
  }
  const waiting = sides.filter(([, s]) => s.notReady).map(([c, s]) => `on ${c.context} ${s.notReady}`);
  if (waiting.length) {
    // The status cannot tell whether connect ran: the Helm values do.
    const [ra, rb] = await Promise.all([ciliumRelease(rt, a), ciliumRelease(rt, b)]);
    const detail = `ClusterMesh is not ready yet: ${waiting.join('; ')}`;
    if (meshPeers(ra?.values).includes(b.name) && meshPeers(rb?.values).includes(a.name)) {
      return { state: 'verify', detail: `connected in the settings; ${detail}` };
    }
    return { state: 'blocked', message: `${detail}. Run step 06 (npm run 06), which waits for it, then this step again.` };
  }
  const ab = peerConnection(sa, b.name);
  const ba = peerConnection(sb, a.name);
  if (ab.connected && ba.connected) return { state: 'done', detail: `${a.name} ⇄ ${b.name} connected` };
  const configured = sa.connectivity?.clusters?.[b.name] && sb.connectivity?.clusters?.[a.name];
  return configured
    ? { state: 'verify', detail: `configured; waiting for the connection (${a.context} to ${ab.detail}; ${b.context} to ${ba.detail})` }
    : { state: 'todo', detail: 'not connected' };
}

/**
 * Known reasons why two clusters do not connect, checked read-only.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {Error} error
 */
export async function meshHint(rt, config, error) {
  const text = error instanceof ToolError ? `${error.stderr}\n${error.stdout}` : error.message;
  if (saysCaMismatch(text)) return caMismatchHint(config.a.context, config.b.context);
  const named = identityHint(text);
  if (named) return named;
  const [sa, sb] = await Promise.all([meshStatus(rt, config.a), meshStatus(rt, config.b)]);
  const shared = sharedMeshIps(sa, sb);
  if (shared.length) return `${sameIpHint(shared)} Give the clusters different CLUSTER_X_MESH_IP values.`;
  return `see \`cilium clustermesh status --context ${config.a.context}\` and \`--context ${config.b.context}\`: ` +
    'nodes must reach the other cluster\'s clustermesh-apiserver on 2379/tcp.';
}

/**
 * The hint for connect's refusals of a cluster's name or ID. The CLI checks the
 * remote cluster first and says "remote cluster has non-unique name (default)
 * and/or ID (2)" for a remote named default (or with ID 0), "local cluster has
 * the default name (cluster name: …) and/or ID 0 (cluster ID: …)" for the local
 * one, and "the same, non-unique name" only when both names are equal.
 * @param {string} text the CLI's error
 * @returns {string}
 */
export function identityHint(text) {
  const bad = /remote cluster has non-unique name \(([^)]*)\) and\/or ID \(([^)]*)\)/.exec(text) ??
    /local cluster has the default name \(cluster name: ([^)]*)\) and\/or ID 0 \(cluster ID: ([^)]*)\)/.exec(text);
  if (bad && (bad[1] === 'default' || bad[1] === '')) {
    return 'a cluster is installed with the name "default": K3s names every cluster so; reinstall with CLUSTER_X_NAME set.';
  }
  if (bad && (bad[2] === '0' || bad[2] === '')) return 'a cluster is installed with cluster.id 0 (not meshed): reinstall with CLUSTER_X_ID set (1–255).';
  if (bad || /same, non-unique/i.test(text)) return 'CLUSTER_A_NAME and CLUSTER_B_NAME (or the IDs) must differ, and the installed values must match them.';
  return '';
}
