// @ts-check
// LoadBalancer IP pools and L2 announcements (steps 04 and 05). The pool kinds
// are CRDs that cilium-operator registers when it starts (not the Helm chart),
// so we first wait until they are Established. With MESH_SERVICE_TYPE=NodePort
// the clustermesh-apiserver needs no LoadBalancer IP: step 04 then applies the
// L2 announcement policy (for the app pool's Services) and no mesh pool.
import { kubectl, duration } from './commands.mjs';
import { getObjects, ciliumRelease } from './probes.mjs';
import { applyManifest } from './apply.mjs';
import { meshPool, appPool, l2Policy, POOL_CRD, L2_CRD, POOL_RESOURCE, L2_RESOURCE, MESH_POOL, L2_POLICY } from './manifests.mjs';
import { ToolError } from './runtime.mjs';
import { expBackoff } from 'zx';
import { sleep } from './runtime.mjs';
import { bashOf } from './shell.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/** @param {any} crd */
const established = (crd) => (crd?.status?.conditions ?? []).some((/** @type {any} */ x) => x.type === 'Established' && x.status === 'True');

const CRD_REFS = [`crd/${POOL_CRD}`, `crd/${L2_CRD}`];

/**
 * The CRD wait and the ClusterMesh pool of one cluster (step 04). Once the CRDs
 * are served, one kubectl call reads them with the pool and the policy and
 * answers both checks. Each check takes a read once; a check asked again (after
 * something changed) gets a fresh one.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action[]}
 */
export function meshPoolActions(config, c) {
  const lb = config.meshServiceType === 'LoadBalancer';
  const refs = [...CRD_REFS, ...(lb ? [`${POOL_RESOURCE}/${MESH_POOL}`] : []), `${L2_RESOURCE}/${L2_POLICY}`];
  /** @type {Promise<{ live: Map<string, any> } | { err: unknown }> | null} */
  let memo = null;
  let takers = new Set();
  /** @param {'crds' | 'pool'} who @param {Runtime} rt */
  const read = (who, rt) => {
    if (!memo || takers.has(who)) {
      memo = getObjects(rt, c, null, refs).then((live) => ({ live }), (err) => ({ err }));
      takers = new Set();
    }
    takers.add(who);
    return memo;
  };
  return [
    lbCrds(config, c, async (rt) => {
      const r = await read('crds', rt);
      return 'live' in r ? r.live : null; // the pool kinds are not served yet: the CRD check reads alone
    }),
    meshPoolAction(config, c, async (rt) => {
      const r = await read('pool', rt);
      if ('err' in r) throw r.err;
      return r.live;
    }),
  ];
}

/**
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {(rt: Runtime) => Promise<Map<string, any> | null>} [shared] a read that includes the CRDs, or null when it failed
 * @returns {Action}
 */
export function lbCrds(config, c, shared) {
  const refs = CRD_REFS;
  const waitCmd = {
    ...kubectl(c, 'wait', '--for=condition=Established', ...refs, `--timeout=${duration(config.timeouts.resources)}`),
    wait: { what: `Cilium's CRDs on ${c.context}`, timeout: config.timeouts.resources },
  };
  return {
    title: `Cilium's LoadBalancer CRDs are Established on ${c.context}`,
    cluster: c,
    async check(rt) {
      const crds = (await shared?.(rt)) ?? await getObjects(rt, c, null, refs);
      if ([POOL_CRD, L2_CRD].every((n) => established(crds.get(`customresourcedefinition/${n}`)))) {
        return { state: 'done' };
      }
      if (!(await ciliumRelease(rt, c))) {
        return { state: 'blocked', message: `Cilium is not installed on ${c.context}: run step ${c.key === 'a' ? '01' : '03'} first.` };
      }
      return { state: 'verify', detail: 'cilium-operator registers them when it starts' };
    },
    async verifyRun(rt) {
      // `kubectl wait` fails at once on a CRD that does not exist yet: poll for it first, with backoff.
      const deadline = Date.now() + config.timeouts.resources * 1000;
      await rt.withWait(`cilium-operator on ${c.context} to register its CRDs`, config.timeouts.resources, async () => {
        for (const delay of expBackoff(5000, 250)) {
          const crds = await getObjects(rt, c, null, refs);
          if (crds.size === refs.length) return;
          if (Date.now() > deadline) {
            throw new Error(`timed out after ${config.timeouts.resources}s waiting for cilium-operator on ${c.context} to register ${POOL_CRD} and ${L2_CRD} (found ${crds.size} of 2). Check \`cilium status --context ${c.context}\`.`);
          }
          await sleep(delay, rt.signal);
        }
      });
      await rt.exec(waitCmd);
    },
    transcript: [bashOf(waitCmd)],
  };
}

/**
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {(rt: Runtime) => Promise<Map<string, any>>} [read] a read shared with the CRD check
 * @returns {Action}
 */
export function meshPoolAction(config, c, read) {
  const lb = config.meshServiceType === 'LoadBalancer';
  return applyManifest({
    read,
    title: lb ? `ClusterMesh pool ${MESH_POOL} (${c.meshIp}) and L2 announcement policy on ${c.context}`
      : `L2 announcement policy on ${c.context} (MESH_SERVICE_TYPE=NodePort: no ClusterMesh pool)`,
    cluster: c,
    manifest: lb ? meshPool(c) : l2Policy(c),
    namespace: null,
    missingKind: `${c.context} does not serve Cilium's pool kinds yet: run steps ${c.key === 'a' ? '01' : '03'} and 04 first.`,
  });
}

/**
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function appPoolAction(config, c) {
  return applyManifest({
    title: `App pool (${c.appPool.start}–${c.appPool.stop}) on ${c.context}`,
    cluster: c,
    manifest: appPool(c),
    namespace: null,
    missingKind: `${c.context} does not serve Cilium's pool kinds yet: run step 04 (npm run 04) first.`,
    requires: [step04Object(config, c)],
  });
}

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
      if (err instanceof ToolError && /doesn't have a resource type/.test(err.stderr)) {
        return `${c.context} does not serve Cilium's pool kinds yet: run steps 01–04 first.`;
      }
      throw err;
    }
  }
  return null;
}
