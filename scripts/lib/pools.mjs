// @ts-check
// The checks of steps 04 and 05 (LoadBalancer IP pools and L2 announcements),
// and the poll for the pool kinds' CRDs. The kinds are CRDs that cilium-operator
// registers when it starts (not the Helm chart). With MESH_SERVICE_TYPE=NodePort
// the clustermesh-apiserver needs no LoadBalancer IP: step 04 then applies the
// L2 announcement policy (for the app pool's Services) and no mesh pool.
import { getObjects, ciliumRelease } from './probes.mjs';
import { applied, probeRefs, unknownKind } from './apply.mjs';
import { POOL_CRD, L2_CRD, POOL_RESOURCE, L2_RESOURCE, MESH_POOL, L2_POLICY } from './manifests.mjs';
import { expBackoff } from 'zx';
import { sleep } from './runtime.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./manifests.mjs').Manifest} Manifest */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/** The CRDs of the pool and L2 policy kinds, as kubectl names them. */
export const LB_CRDS = [`crd/${POOL_CRD}`, `crd/${L2_CRD}`];

/** @param {any} crd */
const established = (crd) => (crd?.status?.conditions ?? []).some((/** @type {any} */ x) => x.type === 'Established' && x.status === 'True');

/**
 * Step 04's first check on a cluster: done when both CRDs are Established;
 * 'verify' (wait for them) while Cilium is installed; blocked without Cilium.
 * It reads the CRDs with the objects of `manifest`, the same kubectl get as
 * meshPoolApplied, so the runtime asks it once for both checks.
 * @param {Runtime} rt @param {ClusterConfig} c @param {Manifest} manifest what step 04 applies there
 * @returns {Promise<CheckResult>}
 */
export async function lbCrdsEstablished(rt, c, manifest) {
  let crds;
  try {
    crds = await getObjects(rt, c, null, probeRefs(manifest, { first: LB_CRDS }));
  } catch (err) {
    if (!unknownKind(err)) throw err;
    crds = await getObjects(rt, c, null, LB_CRDS); // the pool kinds are not served yet: the CRDs alone
  }
  if ([POOL_CRD, L2_CRD].every((n) => established(crds.get(`customresourcedefinition/${n}`)))) return { state: 'done' };
  if (!(await ciliumRelease(rt, c))) {
    return { state: 'blocked', message: `Cilium is not installed on ${c.context}: run step ${c.key === 'a' ? '01' : '03'} first.` };
  }
  return { state: 'verify', detail: 'cilium-operator registers them when it starts' };
}

/**
 * Polls, with backoff, until both CRDs exist (`kubectl wait` fails at once on
 * one that does not), up to TIMEOUT_RESOURCES.
 * @param {Runtime} rt @param {Config} config @param {ClusterConfig} c
 * @returns {Promise<void>}
 */
export async function lbCrdsRegistered(rt, config, c) {
  const timeout = config.timeouts.resources;
  const deadline = Date.now() + timeout * 1000;
  await rt.withWait(`cilium-operator on ${c.context} to register its CRDs`, timeout, async () => {
    for (const delay of expBackoff(5000, 250)) {
      const crds = await getObjects(rt, c, null, LB_CRDS);
      if (crds.size === LB_CRDS.length) return;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeout}s waiting for cilium-operator on ${c.context} to register ${POOL_CRD} and ${L2_CRD} (found ${crds.size} of 2). Check \`cilium status --context ${c.context}\`.`);
      }
      await sleep(delay, rt.signal);
    }
  });
}

/**
 * Step 04's second check: the mesh pool and L2 policy (NodePort: the policy
 * alone) applied as they are; blocked while the pool kinds are not served.
 * @param {Runtime} rt @param {ClusterConfig} c @param {Manifest} manifest
 */
export const meshPoolApplied = (rt, c, manifest) => applied(rt, c, manifest, {
  namespace: null, first: LB_CRDS,
  missingKind: `${c.context} does not serve Cilium's pool kinds yet: run steps ${c.key === 'a' ? '01' : '03'} and 04 first.`,
});

/**
 * Step 05's check: the app pool applied as it is; blocked while step 04's
 * object (step04Object) is missing.
 * @param {Runtime} rt @param {Config} config @param {ClusterConfig} c @param {Manifest} manifest
 */
export const appPoolApplied = (rt, config, c, manifest) => applied(rt, c, manifest, {
  namespace: null, requires: [step04Object(config, c)],
  missingKind: `${c.context} does not serve Cilium's pool kinds yet: run step 04 (npm run 04) first.`,
});

/**
 * What step 04 leaves on a cluster that step 05 needs: the ClusterMesh pool, or
 * with MESH_SERVICE_TYPE=NodePort (no such pool) the L2 announcement policy.
 * @param {Config} config @param {ClusterConfig} c
 */
function step04Object(config, c) {
  return config.meshServiceType === 'LoadBalancer'
    ? { ref: `${POOL_RESOURCE}/${MESH_POOL}`, key: `ciliumloadbalancerippool/${MESH_POOL}`,
      missing: `the ClusterMesh pool is missing on ${c.context}: run step 04 (npm run 04) first.` }
    : { ref: `${L2_RESOURCE}/${L2_POLICY}`, key: `ciliuml2announcementpolicy/${L2_POLICY}`,
      missing: `the L2 announcement policy is missing on ${c.context}: run step 04 (npm run 04) first.` };
}

/**
 * Step 05's prerequisite: step 04 done on both clusters (asked before 05's first change).
 * @param {Runtime} rt @param {Config} config
 * @returns {Promise<string | null>}
 */
export async function step04OnBoth(rt, config) {
  for (const c of config.clusters) {
    const need = step04Object(config, c);
    try {
      if (!(await getObjects(rt, c, null, [need.ref])).has(need.key)) return need.missing;
    } catch (err) {
      if (unknownKind(err)) return `${c.context} does not serve Cilium's pool kinds yet: run steps 01–04 first.`;
      throw err;
    }
  }
  return null;
}
