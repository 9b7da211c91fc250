#!/usr/bin/env node
// @ts-check
/**
 * Step 04 — ClusterMesh IP pools and L2 announcements
 *
 * Each cluster's clustermesh-apiserver (step 06) is reached by the other cluster
 * at a LoadBalancer IP. Cilium's LB-IPAM hands out such IPs from a
 * CiliumLoadBalancerIPPool; here one pool per cluster holds exactly that
 * cluster's ClusterMesh IP. The two IPs must differ: two apiservers behind one
 * IP never connect (the article's troubleshooting). Unlike the article's pool,
 * ours selects only the clustermesh-apiserver Service, so no other Service can
 * take the address first.
 *
 * A CiliumL2AnnouncementPolicy makes the nodes answer ARP for LoadBalancer IPs,
 * so the addresses are reachable on the LAN (no MetalLB needed).
 *
 * The pool kinds are CRDs that cilium-operator registers when it starts: the
 * step waits until they are Established before applying.
 *
 * With MESH_SERVICE_TYPE=NodePort the clustermesh-apiserver is reached at a
 * node's port, not at a LoadBalancer IP: no ClusterMesh pool is made (and the
 * CLUSTER_X_MESH_IP settings are not used); the L2 policy still is, for the
 * app pool's Services (step 05).
 *
 * You should see: `kubectl --context cluster-a get ippools` listing cluster-pool
 * (here on the twin), and the same on cluster-b:
 *
 *   NAME           DISABLED   CONFLICTING   IPS AVAILABLE   AGE
 *   cluster-pool   false      False         1               5s
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl } from './lib/commands.mjs';
import { code, eachCluster } from './lib/plan.mjs';
import { manifest, MESH_POOL, L2_POLICY, POOL_CRD, L2_CRD } from './lib/manifests.mjs';
import { lbCrdsEstablished, lbCrdsRegistered, meshPoolApplied } from './lib/pools.mjs';
import { ciliumOnBoth } from './lib/prerequisites.mjs';
import { bashOf } from './lib/bash-text.mjs';

/** @typedef {import('./lib/types.js').ClusterConfig} ClusterConfig */

/** What step 04 applies on a cluster: manifests/mesh-pool.yaml and l2-policy.yaml. @param {ClusterConfig} c */
export const meshPool = (c) => manifest(`mesh-pool-${c.context}.yaml`, {
  'mesh-pool.yaml': { poolName: MESH_POOL, meshIp: c.meshIp },
  'l2-policy.yaml': { policyName: L2_POLICY },
});

/** With MESH_SERVICE_TYPE=NodePort: manifests/l2-policy.yaml alone. @param {ClusterConfig} c */
export const l2Policy = (c) => manifest(`l2-policy-${c.context}.yaml`, { 'l2-policy.yaml': { policyName: L2_POLICY } });

export const step = defineStep({
  id: '04',
  name: '04-mesh-pools',
  title: 'ClusterMesh IP pools and L2 announcements',
  file: import.meta.url,
  ready: ciliumOnBoth,
  actions: (config) => {
    const { timeouts } = config;
    const lb = config.meshServiceType === 'LoadBalancer';
    // Both clusters at once: each gets its own pool and policy.
    return [eachCluster(config.clusters, (c) => {
      const applies = lb ? meshPool(c) : l2Policy(c);
      return [{
        title: `Cilium's LoadBalancer CRDs are Established on ${c.context}`,
        // Done when both CRDs are Established. This check and the next read the CRDs
        // and the pool and policy in one kubectl get, which the runtime asks once.
        check: (rt) => lbCrdsEstablished(rt, c, applies),
        verify: [
          // `kubectl wait` fails at once on a CRD that does not exist yet: first wait until both exist.
          code([
            `for i in $(seq 1 ${timeouts.resources}); do`,
            `  ${bashOf(kubectl`--context ${c.context} get crd/${POOL_CRD} crd/${L2_CRD}`)} >/dev/null 2>&1 && break`,
            '  sleep 1',
            'done',
          ], (rt) => lbCrdsRegistered(rt, config, c)),
          // You should see: customresourcedefinition.apiextensions.k8s.io/ciliumloadbalancerippools.cilium.io condition met
          kubectl`--context ${c.context} wait --for=condition=Established crd/${POOL_CRD} crd/${L2_CRD} --timeout=${timeouts.resources}s`
            .waitsFor(`Cilium's CRDs on ${c.context}`, timeouts.resources),
        ],
      }, {
        title: lb ? `ClusterMesh pool ${MESH_POOL} (${c.meshIp}) and L2 announcement policy on ${c.context}`
          : `L2 announcement policy on ${c.context} (MESH_SERVICE_TYPE=NodePort: no ClusterMesh pool)`,
        // Done when `kubectl apply` would change nothing: every field of the manifest as it is.
        check: (rt) => meshPoolApplied(rt, c, applies),
        // You should see: ciliumloadbalancerippool.cilium.io/cluster-pool created
        //                ciliuml2announcementpolicy.cilium.io/l2-policy created
        run: [kubectl`--context ${c.context} apply -f -`.withStdin(applies)],
      }];
    })];
  },
});

await runIfMain(step);
