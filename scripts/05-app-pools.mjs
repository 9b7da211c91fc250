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
 * You should see: `kubectl --context cluster-a get ippools` listing app-pool
 * (here on the twin), and the same on cluster-b:
 *
 *   NAME           DISABLED   CONFLICTING   IPS AVAILABLE   AGE
 *   app-pool       false      False         10              4s
 *   cluster-pool   false      False         1               5s
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl } from './lib/commands.mjs';
import { eachCluster } from './lib/plan.mjs';
import { manifest, APP_POOL } from './lib/manifests.mjs';
import { appPoolApplied, step04OnBoth } from './lib/pools.mjs';

/** @typedef {import('./lib/types.js').ClusterConfig} ClusterConfig */

/** What step 05 applies on a cluster: manifests/app-pool.yaml with its range. @param {ClusterConfig} c */
export const appPool = (c) => manifest(`app-pool-${c.context}.yaml`, {
  'app-pool.yaml': { poolName: APP_POOL, start: c.appPool.start, stop: c.appPool.stop },
});

export const step = defineStep({
  id: '05',
  name: '05-app-pools',
  title: 'App IP pools',
  file: import.meta.url,
  ready: step04OnBoth, // the mesh pool (with NodePort: the L2 policy) on both clusters
  // Both clusters at once: each gets its own pool.
  actions: (config) => [eachCluster(config.clusters, (c) => {
    const pool = appPool(c);
    return [{
      title: `App pool (${c.appPool.start}–${c.appPool.stop}) on ${c.context}`,
      // Done when `kubectl apply` would change nothing; blocked while step 04's pool
      // (with NodePort: its L2 policy) is missing on this cluster.
      check: (rt) => appPoolApplied(rt, config, c, pool),
      // You should see: ciliumloadbalancerippool.cilium.io/app-pool created
      run: [kubectl`--context ${c.context} apply -f -`.withStdin(pool)],
    }];
  })],
});

await runIfMain(step);
