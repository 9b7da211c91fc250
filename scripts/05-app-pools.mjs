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
import { appPoolAction } from './lib/pools.mjs';
import { poolOnBoth } from './lib/prerequisites.mjs';
import { MESH_POOL } from './lib/manifests.mjs';

export const step = defineStep({
  id: '05',
  name: '05-app-pools',
  title: 'App IP pools',
  file: import.meta.url,
  ready: poolOnBoth(MESH_POOL, '04'),
  actions: (config) => config.clusters.map((c) => appPoolAction(config, c)),
});

await runIfMain(step);
