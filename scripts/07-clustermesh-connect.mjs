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
import { connectMesh } from './lib/mesh.mjs';

export const step = defineStep({
  id: '07',
  name: '07-clustermesh-connect',
  title: 'Connect the clusters',
  file: import.meta.url,
  tools: ['cilium'],
  actions: (config) => [connectMesh(config)],
});

await runIfMain(step);
