#!/usr/bin/env node
// @ts-check
/**
 * Step 03 — Install Cilium on cluster B
 *
 * The same install as step 01, with B's name, id, pod CIDR and API server. The
 * pod CIDRs of the two clusters must not overlap: pods talk to each other across
 * the mesh by their own addresses.
 *
 * This step refuses to run while B lacks A's CA (step 02): installing first
 * would generate a second CA, and the clusters could not be meshed without
 * reinstalling.
 *
 * You should see: `cilium status` on B with Cilium and Operator OK.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { installCilium } from './lib/install-cilium.mjs';

export const step = defineStep({
  id: '03',
  name: '03-install-b',
  title: 'Install Cilium on cluster B',
  file: import.meta.url,
  tools: ['cilium'],
  actions: (config) => [installCilium(config, config.b, { requireCaFrom: config.a })],
});

await runIfMain(step);
