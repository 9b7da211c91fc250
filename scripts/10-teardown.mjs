#!/usr/bin/env node
// @ts-check
/**
 * Step 10 — Tear it all down
 *
 * Undoes steps 09 to 01, in that order, so the clusters are back where step 01
 * found them and `npm run all` can build everything again from scratch. Not part
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
 *     left it, then `cilium uninstall --wait` on A. A release whose newest
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
import { teardownActions, confirmTeardown } from './lib/teardown.mjs';

export const step = defineStep({
  id: '10',
  name: '10-teardown',
  title: 'Tear it all down',
  file: import.meta.url,
  tools: ['cilium'],
  options: [{ flag: 'yes', help: 'tear down without asking (required when stdin is not a terminal)' }],
  confirm: confirmTeardown,
  runsOn: 'the pair of clusters the runbook built',
  actions: (config) => teardownActions(config),
});

await runIfMain(step);
