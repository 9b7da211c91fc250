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
 *   - service.cilium.io/affinity: local prefers this cluster's pods and uses the
 *     other cluster's only when none is ready (remote: the other way round; leave
 *     it unset to spread over both — never "none", which drops remote backends);
 *   - label lb-pool: app takes the IP from the app pool (step 05);
 *   - loadBalancerClass io.cilium/l2-announcer has Cilium announce it with ARP.
 *
 * The article applies the Service without a namespace (it lands in "default",
 * away from its pods) and writes `--contect`; here both go to the echo
 * namespace with the right flags.
 *
 * You should see: each cluster's VIP answering with its own page.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { echoActions } from './lib/echo.mjs';
import { poolOnBoth } from './lib/prerequisites.mjs';
import { APP_POOL } from './lib/manifests.mjs';

export const step = defineStep({
  id: '08',
  name: '08-deploy-echo',
  title: 'Deploy echo with a global Service',
  file: import.meta.url,
  ready: poolOnBoth(APP_POOL, '05'),
  actions: (config) => config.clusters.flatMap((c) => echoActions(config, c)),
});

await runIfMain(step);
