// @ts-check
// "kubectl apply, but only when it would change something." The check reads the
// live objects in one call and compares them with the manifest the way apply
// would: every field we set must match, and nothing we set last time (kubectl's
// last-applied annotation) may have been dropped since. A prerequisite missing
// (a kind whose CRD is not there, a pool another step makes) blocks the action
// with the step to run first.
import { getObjects } from './probes.mjs';
import { ToolError } from './runtime.mjs';
import { POOL_CRD, L2_CRD } from './manifests.mjs';

/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./manifests.mjs').Manifest} Manifest */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Where `wanted` and `live` differ, for every field `wanted` sets.
 * @param {any} wanted
 * @param {any} live
 * @param {string} [path]
 * @returns {string[]}
 */
export function subsetDiff(wanted, live, path = '') {
  if (Array.isArray(wanted)) {
    if (!Array.isArray(live) || live.length !== wanted.length) return [`${path || '.'} differs`];
    return wanted.flatMap((w, i) => subsetDiff(w, live[i], `${path}[${i}]`));
  }
  if (wanted && typeof wanted === 'object') {
    return Object.entries(wanted).filter(([, v]) => v !== undefined)
      .flatMap(([k, v]) => subsetDiff(v, live?.[k], path ? `${path}.${k}` : k));
  }
  return wanted === live || (live !== undefined && String(wanted) === String(live)) ? [] : [`${path} differs`];
}

/** @param {any} a @param {any} b @returns {boolean} */
export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => deepEqual(a[k], b[k]));
}

/**
 * What `kubectl apply` would change on this object, as short phrases ([] = nothing).
 * @param {any} wanted
 * @param {any} live
 */
export function applyDiff(wanted, live) {
  const ref = `${wanted.kind}/${wanted.metadata.name}`;
  if (!live) return [`${ref} is missing`];
  const { metadata: wm, ...wbody } = wanted;
  const diffs = subsetDiff({ ...wbody, metadata: { labels: wm.labels, annotations: wm.annotations } }, live)
    .filter((d) => !d.startsWith('apiVersion'))
    .map((d) => `${ref}: ${d}`);
  const last = live.metadata?.annotations?.[LAST_APPLIED];
  if (!diffs.length && last) {
    try {
      if (!deepEqual(withoutEmptyAnnotations(JSON.parse(last)), withoutEmptyAnnotations(wanted))) diffs.push(`${ref}: fields applied before are no longer wanted`);
    } catch { /* unreadable annotation: the field check alone decides */ }
  }
  return diffs;
}

/** kubectl stores `annotations: {}` in last-applied when the manifest has none. @param {any} o */
function withoutEmptyAnnotations(o) {
  const a = o?.metadata?.annotations;
  if (!a || Object.keys(a).length) return o;
  const { annotations: _, ...metadata } = o.metadata;
  return { ...o, metadata };
}

/** "CiliumLoadBalancerIPPool" → the key getObjects uses. @param {any} o */
export const keyOf = (o) => `${o.kind.toLowerCase()}/${o.metadata.name}`;

/**
 * @typedef {{ ref: string, key: string, missing: string }} Requirement
 *   ref: what to add to the probe (e.g. "ciliumloadbalancerippools.cilium.io/app-pool"),
 *   key: its key in the result, missing: the message when it is absent
 */

/**
 * What a check of this manifest reads, in one kubectl get: `first` (refs another
 * check reads too, so that both make the same probe), the manifest's objects,
 * then the requirements.
 * @param {Manifest} manifest @param {{ first?: string[], requires?: Requirement[] }} [spec]
 */
export const probeRefs = (manifest, spec = {}) => [
  ...(spec.first ?? []), ...manifest.objects.map((o) => `${refName(o)}/${o.metadata.name}`), ...(spec.requires ?? []).map((r) => r.ref),
];

/** kubectl does not know a kind it was asked for (its CRD is not served). @param {unknown} err */
export const unknownKind = (err) => err instanceof ToolError && /doesn't have a resource type/.test(err.stderr);

/**
 * A check: is the manifest applied as it is, so that `kubectl apply` would
 * change nothing? 'done' (in place), 'todo' with what apply would change, or
 * 'blocked' when a kind is not served (missingKind) or a requirement is missing.
 * @param {Runtime} rt
 * @param {ClusterConfig} c
 * @param {Manifest} manifest
 * @param {{ namespace: string | null, missingKind: string, requires?: Requirement[], first?: string[] }} spec
 * @returns {Promise<CheckResult>}
 */
export async function applied(rt, c, manifest, spec) {
  let live;
  try {
    live = await getObjects(rt, c, spec.namespace, probeRefs(manifest, spec));
  } catch (err) {
    if (unknownKind(err)) return { state: 'blocked', message: spec.missingKind };
    throw err;
  }
  return verdict(manifest, live, spec.requires);
}

/** @param {Manifest} manifest @param {Map<string, any>} live @param {Requirement[]} [requires] @returns {CheckResult} */
function verdict(manifest, live, requires = []) {
  for (const r of requires) if (!live.has(r.key)) return { state: 'blocked', message: r.missing };
  const diffs = manifest.objects.flatMap((o) => applyDiff(o, live.get(keyOf(o))));
  if (!diffs.length) return { state: 'done', detail: 'in place' };
  return { state: 'todo', detail: diffs.slice(0, 3).join('; ') + (diffs.length > 3 ? ` (+${diffs.length - 3} more)` : '') };
}

/** The resource name kubectl should use for a kind (fully qualified for CRDs). @param {any} o */
function refName(o) {
  const names = /** @type {Record<string, string>} */ ({
    Namespace: 'namespace', Deployment: 'deployment', Service: 'service',
    CiliumLoadBalancerIPPool: POOL_CRD, CiliumL2AnnouncementPolicy: L2_CRD,
  });
  const name = names[o.kind];
  if (!name) throw new Error(`apply.mjs: no resource name known for kind ${o.kind}`);
  return name;
}
