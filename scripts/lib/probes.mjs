// @ts-check
// Read-only looks at a cluster that several steps share. Each costs one process.
import { gunzipSync } from 'node:zlib';
import { kubectl } from './commands.mjs';

/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * @typedef {{ secret: string, revision: number, status: string, since: string, description: string, chartVersion: string, values: Record<string, any> }} HelmRelease
 *   secret: the Secret holding this revision; status: deployed, superseded, pending-install, pending-upgrade, failed …; since: when its operation started (RFC 3339)
 */

/**
 * Helm keeps a release as Secrets sh.helm.release.v1.<name>.v<N> labelled
 * owner=helm,name=<name>,status=deployed; `release` holds base64(gzip(JSON)).
 * @param {string} data the Secret's data.release (base64, as the API returns it)
 * @returns {{ version?: number, config?: Record<string, any>, chart?: { metadata?: { version?: string } }, info?: { status?: string, last_deployed?: string, description?: string } }}
 */
export function decodeHelmRelease(data) {
  let raw = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64');
  if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  return JSON.parse(raw.toString('utf8'));
}

/** @param {any} s a Helm release Secret @returns {HelmRelease} */
function releaseOf(s) {
  const rel = decodeHelmRelease(s.data?.release ?? '');
  return {
    secret: s.metadata?.name ?? '',
    revision: rel.version ?? Number(s.metadata?.labels?.version ?? 0),
    status: rel.info?.status ?? s.metadata?.labels?.status ?? '?',
    since: rel.info?.last_deployed ?? '',
    description: rel.info?.description ?? '',
    chartVersion: rel.chart?.metadata?.version ?? '?',
    values: rel.config ?? {},
  };
}

/** @param {any} s */
const revisionOf = (s) => Number(s.metadata?.labels?.version ?? 0);

/**
 * The deployed Cilium Helm release of a cluster, or null.
 * @param {Runtime} rt
 * @param {ClusterConfig} c
 * @returns {Promise<HelmRelease | null>}
 */
export async function ciliumRelease(rt, c) {
  // Helm release Secrets hold the values; not Secret keys, but not for the screen either.
  const list = await rt.probeJson(
    kubectl`--context ${c.context} get secret -n kube-system -l owner=helm,name=cilium,status=deployed -o json`.holdsSecret());
  const latest = (list.items ?? []).sort((/** @type {any} */ x, /** @type {any} */ y) => revisionOf(y) - revisionOf(x))[0];
  return latest ? releaseOf(latest) : null;
}

/**
 * Every revision of the Cilium Helm release on a cluster, newest first: the
 * deployed one, those it superseded, and one still pending (an install or
 * upgrade under way, or interrupted) or failed.
 * @param {Runtime} rt
 * @param {ClusterConfig} c
 * @returns {Promise<HelmRelease[]>}
 */
export async function ciliumReleases(rt, c) {
  const list = await rt.probeJson(kubectl`--context ${c.context} get secret -n kube-system -l owner=helm,name=cilium -o json`.holdsSecret());
  return (list.items ?? []).sort((/** @type {any} */ x, /** @type {any} */ y) => revisionOf(y) - revisionOf(x)).map(releaseOf);
}

/**
 * The cilium-ca Secret (holds the CA key: kept in memory only), or null.
 * @param {Runtime} rt
 * @param {ClusterConfig} c
 * @returns {Promise<any | null>}
 */
export async function ciliumCa(rt, c) {
  const list = await rt.probeJson(kubectl`--context ${c.context} get secret -n kube-system cilium-ca -o json --ignore-not-found`.holdsSecret());
  return list.kind === 'Secret' ? list : null;
}

/**
 * Several objects in one call; what does not exist is left out.
 * Returns them by "kind/name" (kind lower-case, e.g. "service/echo").
 * @param {Runtime} rt
 * @param {ClusterConfig} c
 * @param {string | null} namespace
 * @param {string[]} refs e.g. ["deploy/echo", "svc/echo"]
 * @returns {Promise<Map<string, any>>}
 */
export async function getObjects(rt, c, namespace, refs) {
  const ns = namespace ? ['-n', namespace] : [];
  const res = await rt.probeJson(kubectl`--context ${c.context} get ${ns} ${refs} -o json --ignore-not-found`);
  const items = res.kind === 'List' ? res.items : res.items ?? [res];
  return new Map(items.filter(Boolean).map((/** @type {any} */ o) => [`${o.kind.toLowerCase()}/${o.metadata.name}`, o]));
}

/**
 * Differences between wanted values and found ones, at every leaf of `wanted`.
 * @param {any} wanted
 * @param {any} found
 * @param {string} [path]
 * @returns {string[]} e.g. ["cluster.id: wanted 1, found 3"]
 */
export function valueDiff(wanted, found, path = '') {
  if (wanted && typeof wanted === 'object' && !Array.isArray(wanted)) {
    return Object.entries(wanted).flatMap(([k, v]) => valueDiff(v, found?.[k], path ? `${path}.${k}` : k));
  }
  const same = JSON.stringify(wanted) === JSON.stringify(found) ||
    (found !== undefined && !Array.isArray(wanted) && String(wanted) === String(found));
  return same ? [] : [`${path}: wanted ${JSON.stringify(wanted)}, found ${found === undefined ? 'nothing' : JSON.stringify(found)}`];
}

/** Is this deployment fully rolled out and ready? @param {any} d */
export function deploymentReady(d) {
  const want = d?.spec?.replicas ?? 1;
  const s = d?.status ?? {};
  return Boolean(d) && (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === want && (s.readyReplicas ?? 0) === want && (s.replicas ?? 0) === want;
}

/** Is this DaemonSet rolled out with every pod ready? @param {any} ds */
export function daemonSetReady(ds) {
  const s = ds?.status ?? {};
  const want = s.desiredNumberScheduled ?? 0;
  return Boolean(ds) && want > 0 && (s.observedGeneration ?? 0) >= (ds.metadata?.generation ?? 0) &&
    (s.numberReady ?? 0) === want && (s.updatedNumberScheduled ?? 0) === want && (s.numberAvailable ?? 0) === want;
}

/** The first LoadBalancer IP of a Service, or ''. @param {any} svc */
export const lbIp = (svc) => svc?.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
