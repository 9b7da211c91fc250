#!/usr/bin/env node
// @ts-check
/**
 * Step 10 — Tear it all down
 *
 * Undoes steps 09 to 01, in that order (each part on both clusters at once),
 * so the clusters are back where step 01 found them and `npm run all` can build everything again from scratch. Not part
 * of `npm run all`: it asks first (type "yes"), or takes --yes; without a
 * terminal to ask on and without --yes it refuses before touching anything.
 *
 *   - namespace echo on both clusters (the app and its global Service), waited
 *     for until it is gone: the Service's LoadBalancer IP goes back to its pool;
 *   - `cilium clustermesh disconnect --destination-context B`, run from A, drops
 *     each cluster from the other's Helm values (both ways, like connect);
 *   - `cilium clustermesh disable` on each cluster removes the
 *     clustermesh-apiserver, its Service and the mesh configuration. The
 *     certificates its certgen job made are not Helm's: deleted by name;
 *   - the app pool, the ClusterMesh pool (made only for a LoadBalancer mesh
 *     Service) and the L2 announcement policy: Cilium's CRDs stay (the
 *     operator registered them; Helm never owned them);
 *   - `cilium uninstall --wait` on B, then B's copy of A's CA if the uninstall
 *     left it; meanwhile `cilium uninstall --wait` on A. A release whose newest
 *     revision is still pending (a killed install) is uninstalled without
 *     --wait, which would wait for hubble-relay with no deadline, and its pods
 *     are waited for with a bounded `kubectl wait --for=delete`. Without
 *     Cilium, K3s started with --flannel-backend=none has no pod network until
 *     a CNI runs again.
 *
 * Each part is looked at first and skipped where it is already gone: run it
 * twice and the second run changes nothing; interrupt it and run it again.
 *
 * You should see: every action "changed" or "ok", and `npm run status` saying
 * "not started" for every step.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl, cilium } from './lib/commands.mjs';
import { code, eachCluster } from './lib/plan.mjs';
import { POOL_RESOURCE, L2_RESOURCE, APP_POOL, MESH_POOL, L2_POLICY } from './lib/manifests.mjs';
import {
  confirmTeardown, echoDeleted, meshDisconnected, disconnectedAfter, meshDisabled, whenEnabled, poolsDeleted,
  ciliumUninstalled, uninstallCilium, copiedCaDeleted, MESH_CERTS, CILIUM_WORKLOADS, HUBBLE_DISABLE_WAIT,
} from './lib/teardown.mjs';

export const step = defineStep({
  id: '10',
  name: '10-teardown',
  title: 'Tear it all down',
  file: import.meta.url,
  tools: ['cilium'],
  options: [{ flag: 'yes', help: 'tear down without asking (required when stdin is not a terminal)' }],
  confirm: confirmTeardown,
  runsOn: 'the pair of clusters the runbook built',
  actions: (config) => {
    const { a, b, echo: { namespace: ns }, timeouts } = config;
    const t = timeouts.cilium;
    // Step 02 undone, after B's uninstall.
    /** @type {import('./lib/actions.js').Action} */
    const deleteCopiedCa = {
      title: `Delete the CA copied from ${a.context}: Secret kube-system/cilium-ca on ${b.context}`,
      // Done when B holds no cilium-ca: the uninstall took it when the chart rendered it.
      check: (rt) => copiedCaDeleted(rt, config),
      run: [kubectl`--context ${b.context} delete secret -n kube-system cilium-ca --ignore-not-found`],
    };
    const pools = [`${POOL_RESOURCE}/${APP_POOL}`, `${POOL_RESOURCE}/${MESH_POOL}`, `${L2_RESOURCE}/${L2_POLICY}`];
    return [
      // Step 08 undone, on both clusters at once: the echo namespace, its Deployment and global
      // Service with it (the Service's LoadBalancer IP goes back to its pool).
      eachCluster(config.clusters, (c) => [{
        title: `Delete namespace ${ns} (echo and its global Service) on ${c.context}`,
        // Done when the namespace is gone; only waited for while it is Terminating.
        check: (rt) => echoDeleted(rt, config, c),
        // You should see: namespace "echo" deleted
        run: [kubectl`--context ${c.context} delete namespace ${ns} --ignore-not-found --wait=true --timeout=${timeouts.resources}s`
          .waitsFor(`namespace ${ns} on ${c.context} to be gone`, timeouts.resources)],
        verify: [kubectl`--context ${c.context} wait --for=delete namespace/${ns} --timeout=${timeouts.resources}s`
          .waitsFor(`namespace ${ns} on ${c.context} to be gone`, timeouts.resources)],
      }]),
      {
        title: `Disconnect ${a.context} and ${b.context}`,
        // Done when neither cluster's Helm values list the other (or one has no Cilium left).
        check: (rt) => meshDisconnected(rt, config),
        // Step 07 undone, run once from A: drops each cluster from the other's Helm values. It runs
        // Helm upgrades without waiting: bounded by TIMEOUT_CILIUM, as install and connect are.
        // You should see: ✅ Disconnected clusters cluster-a <x> cluster-b!
        run: [cilium`clustermesh disconnect --context ${a.context} --destination-context ${b.context}`.withDeadline(t, 'Helm upgrades: TIMEOUT_CILIUM')],
        verify: [code([], (rt) => disconnectedAfter(rt, config))],
      },
      // Step 06 undone, on both clusters at once.
      eachCluster(config.clusters, (c) => [{
        title: `Disable ClusterMesh on ${c.context} (clustermesh-apiserver, its Service and certificates)`,
        // Done when the clustermesh-apiserver, its Service, the mesh configuration and the certificates are gone.
        check: (rt) => meshDisabled(rt, c),
        run: [
          // A Helm upgrade that removes the clustermesh-apiserver, its Service and the mesh configuration
          // (run only while they are there).
          whenEnabled(cilium`clustermesh disable --context ${c.context}`.withDeadline(t, 'Helm upgrades: TIMEOUT_CILIUM')),
          // The certificates its certgen job made are not Helm's: clustermesh-apiserver-{server,admin,remote,local}-cert.
          // You should see: secret "clustermesh-apiserver-server-cert" deleted (and the three others)
          kubectl`--context ${c.context} delete secret -n kube-system ${MESH_CERTS} --ignore-not-found`,
        ],
        verify: [kubectl`--context ${c.context} wait -n kube-system --for=delete deployment/clustermesh-apiserver service/clustermesh-apiserver --timeout=${timeouts.resources}s`
          .waitsFor(`clustermesh-apiserver on ${c.context} to be gone`, timeouts.resources)],
      }]),
      // Steps 05 and 04 undone, on both clusters at once. Cilium's CRDs stay: the operator registered them.
      eachCluster(config.clusters, (c) => [{
        title: `Delete IP pools ${APP_POOL}, ${MESH_POOL} and L2 policy ${L2_POLICY} on ${c.context}`,
        // Done when none of them is left (or Cilium's pool kinds are not served).
        check: (rt) => poolsDeleted(rt, c, pools),
        // You should see: ciliumloadbalancerippool.cilium.io "app-pool" deleted, "cluster-pool" deleted,
        // ciliuml2announcementpolicy.cilium.io "l2-policy" deleted
        run: [kubectl`--context ${c.context} delete ${pools} --ignore-not-found`],
      }]),
      // Steps 03, 02 and 01 undone: B (then the CA copied to it) and A at once. Without Cilium,
      // K3s started with --flannel-backend=none has no pod network until a CNI runs again.
      eachCluster([b, a], (c) => [{
        title: `Uninstall Cilium from ${c.context} (Helm release cilium)`,
        // Done when no Helm release cilium is recorded, in any state.
        check: (rt) => ciliumUninstalled(rt, c),
        run: [uninstallCilium(config, c, {
          // The article's uninstall. You should see: ⌛ Waiting to disable Hubble before uninstalling Cilium /
          // ⌛ Uninstalling Cilium / 🔥 Cleaning up Cilium node annotations...
          uninstall: cilium`uninstall --context ${c.context} --wait --timeout ${t}s`
            .waitsFor(`Cilium on ${c.context} to be uninstalled`, t)
            .withDeadline(HUBBLE_DISABLE_WAIT + t, `cilium's own ${HUBBLE_DISABLE_WAIT}s to disable Hubble and --timeout ${t}s to uninstall`),
          // Over a release whose newest revision is not deployed (a killed install), without --wait,
          // which would wait for hubble-relay with no deadline; then kubectl waits, bounded, for
          // CILIUM_WORKLOADS: daemonset/cilium and deployments cilium-operator, hubble-relay, hubble-ui.
          plain: cilium`uninstall --context ${c.context} --timeout ${t}s`,
          gone: kubectl`--context ${c.context} wait -n kube-system --for=delete ${CILIUM_WORKLOADS} --timeout=${t}s`
            .waitsFor(`Cilium's workloads on ${c.context} to be gone`, t),
        })],
      }, ...(c === b ? [deleteCopiedCa] : [])]),
    ];
  },
});

await runIfMain(step);
