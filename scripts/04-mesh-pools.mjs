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
 * You should see: `kubectl get ippools` listing cluster-pool in both clusters.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { meshPoolActions } from './lib/pools.mjs';
import { ciliumOnBoth } from './lib/prerequisites.mjs';

export const step = defineStep({
  id: '04',
  name: '04-mesh-pools',
  title: 'ClusterMesh IP pools and L2 announcements',
  file: import.meta.url,
  ready: ciliumOnBoth,
  actions: (config) => config.clusters.flatMap((c) => meshPoolActions(config, c)),
});

await runIfMain(step);
