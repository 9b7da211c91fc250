// @ts-check
// LoadBalancer IP pools and L2 announcements (steps 04 and 05). The pool kinds
// are CRDs that cilium-operator registers when it starts (not the Helm chart),
// so we first wait until they are Established.
import { kubectl, duration } from './commands.mjs';
import { getObjects, ciliumRelease } from './probes.mjs';
import { applyManifest } from './apply.mjs';
import { meshPool, appPool, POOL_CRD, L2_CRD, POOL_RESOURCE, MESH_POOL } from './manifests.mjs';
import { sleep } from './runtime.mjs';
import { bashOf } from './shell.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */

/** @param {any} crd */
const established = (crd) => (crd?.status?.conditions ?? []).some((/** @type {any} */ x) => x.type === 'Established' && x.status === 'True');

/**
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function lbCrds(config, c) {
  const refs = [`crd/${POOL_CRD}`, `crd/${L2_CRD}`];
  const waitCmd = {
    ...kubectl(c, 'wait', '--for=condition=Established', ...refs, `--timeout=${duration(config.timeouts.resources)}`),
    wait: { what: `Cilium's CRDs on ${c.context}`, timeout: config.timeouts.resources },
  };
  return {
    title: `Cilium's LoadBalancer CRDs are Established on ${c.context}`,
    cluster: c,
    async check(rt) {
      const crds = await getObjects(rt, c, null, refs);
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
        for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
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
 * @returns {Action}
 */
export function meshPoolAction(config, c) {
  return applyManifest({
    title: `ClusterMesh pool ${MESH_POOL} (${c.meshIp}) and L2 announcement policy on ${c.context}`,
    cluster: c,
    manifest: meshPool(c),
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
    requires: [{
      ref: `${POOL_RESOURCE}/${MESH_POOL}`, key: `ciliumloadbalancerippool/${MESH_POOL}`,
      missing: `the ClusterMesh pool is missing on ${c.context}: run step 04 (npm run 04) first.`,
    }],
  });
}
