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
import { cilium } from './lib/commands.mjs';
import { ciliumValues } from './lib/manifests.mjs';
import { installAction } from './lib/install-cilium.mjs';

export const step = defineStep({
  id: '03',
  name: '03-install-b',
  title: 'Install Cilium on cluster B',
  file: import.meta.url,
  tools: ['cilium'],
  actions: (config) => {
    const { a, b, ciliumVersion, timeouts } = config;
    // The values file: manifests/cilium-values.yaml with B's name, id, pod CIDR and API server.
    const values = ciliumValues(config, b);
    return [
      // Done when Helm release cilium on B is deployed with exactly this values file and chart
      // version, and the agents and operator are ready. Refused, changing nothing: B without
      // A's Cilium CA (run step 02), a release with other values, or one left pending too long.
      installAction(config, b, {
        values,
        // The same install as step 01's, on B. It takes the CA that step 02 copied from A.
        install: cilium`install --context ${b.context} --version ${ciliumVersion} --values ${values}`.helmOn(b),
        // You should see: Cilium: OK, Operator: OK, DaemonSet cilium Desired: 3, Ready: 3/3
        verify: cilium`status --context ${b.context} --wait --wait-duration ${timeouts.cilium}s --interactive=false`
          .waitsFor(`Cilium on ${b.context} to be ready`, timeouts.cilium).readOnly(),
      }, { requireCaFrom: a }),
    ];
  },
});

await runIfMain(step);
