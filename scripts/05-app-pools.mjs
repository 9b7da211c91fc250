#!/usr/bin/env node
// @ts-check
/**
 * Step 05 — App IP pools
 *
 * A second pool per cluster for application Services. It only serves Services
 * labelled `lb-pool: app`, like the echo Service of step 08. The app pools of
 * the two clusters must not overlap each other or the ClusterMesh IPs: both
 * clusters announce on the same LAN, and two nodes answering ARP for one IP
 * would split the traffic.
 *
 * You should see: `kubectl get ippools` listing app-pool in both clusters.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { appPoolAction, step04OnBoth } from './lib/pools.mjs';

export const step = defineStep({
  id: '05',
  name: '05-app-pools',
  title: 'App IP pools',
  file: import.meta.url,
  ready: step04OnBoth,
  actions: (config) => config.clusters.map((c) => appPoolAction(config, c)),
});

await runIfMain(step);
