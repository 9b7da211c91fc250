#!/usr/bin/env node
// @ts-check
/**
 * Step 08 — Deploy echo with a global Service
 *
 * The same Deployment runs in both clusters, each with its own image tag, so the
 * page tells which cluster answered. Next to it, a Service of the same name and
 * namespace in both clusters:
 *
 *   - service.cilium.io/global: "true" shares its endpoints across the mesh;
 *   - service.cilium.io/affinity (ECHO_AFFINITY): local prefers this cluster's
 *     pods and uses the other cluster's only when none is ready; remote the other
 *     way round; empty leaves it out, to spread over both — never "none", which
 *     drops remote backends;
 *   - label lb-pool: app takes the IP from the app pool (step 05);
 *   - loadBalancerClass io.cilium/l2-announcer has Cilium announce it with ARP.
 *
 * The article applies the Service without a namespace (it lands in "default",
 * away from its pods) and writes `--contect`; here both go to the echo
 * namespace with the right flags.
 *
 * Echo is deployed on both clusters before either VIP is asked: with affinity
 * remote, A's VIP answers with B's page, which needs B's pods.
 *
 * You should see: each cluster's VIP answering with its own page (with remote
 * affinity, with the other cluster's page; with none, with either).
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { echoSteps } from './lib/echo.mjs';
import { poolOnBoth } from './lib/prerequisites.mjs';
import { APP_POOL } from './lib/manifests.mjs';

export const step = defineStep({
  id: '08',
  name: '08-deploy-echo',
  title: 'Deploy echo with a global Service',
  file: import.meta.url,
  ready: poolOnBoth(APP_POOL, '05'),
  actions: echoSteps,
});

await runIfMain(step);
