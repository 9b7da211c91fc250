#!/usr/bin/env node
// @ts-check
/**
 * Step 07 — Connect the clusters
 *
 * `cilium clustermesh connect`, run once from cluster A, reads both clusters'
 * clustermesh-apiserver addresses and certificates and configures each cluster
 * to connect to the other (a Helm upgrade on both). The agents then read the
 * other cluster's state from its clustermesh-apiserver.
 *
 * It refuses clusters with the same name or id, or different CAs (step 02).
 * When the status shows "remote cluster configuration required but not found",
 * both apiservers are most likely behind the same IP: each cluster then talks
 * to itself.
 *
 * You should see: `cilium clustermesh status` on both clusters listing the other
 * one as connected.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { cilium } from './lib/commands.mjs';
import { meshConnection, meshHint } from './lib/mesh.mjs';

export const step = defineStep({
  id: '07',
  name: '07-clustermesh-connect',
  title: 'Connect the clusters',
  file: import.meta.url,
  tools: ['cilium'],
  actions: (config) => {
    const { a, b, timeouts } = config;
    return [{
      title: `Connect ${a.context} and ${b.context}`,
      // Done when each side lists the other as connected, counted as `cilium clustermesh status` counts.
      check: (rt) => meshConnection(rt, config),
      // The article's command, run once from A: a Helm upgrade on both clusters.
      run: [cilium`clustermesh connect --context ${a.context} --destination-context ${b.context}`.helmOn(a, b)],
      // Waits until every agent on each side is connected to the other cluster.
      // You should see: ✅ All 3 nodes are connected to all clusters [min:3 / avg:3.0 / max:3]
      verify: [a, b].map((c) => cilium`clustermesh status --context ${c.context} --wait --wait-duration ${timeouts.mesh}s`
        .waitsFor(`${c.context} to connect to the other cluster`, timeouts.mesh).readOnly()),
      outcome: `${a.name} ⇄ ${b.name} connected`,
      hint: (rt, error) => meshHint(rt, config, error),
      statusLabel: 'mesh',
    }];
  },
});

await runIfMain(step);
