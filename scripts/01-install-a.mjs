#!/usr/bin/env node
// @ts-check
/**
 * Step 01 — Install Cilium on cluster A
 *
 * Cilium is the CNI: until it runs, pods on a K3s cluster started with
 * --flannel-backend=none have no network. We install it with the cilium CLI,
 * which drives Helm, from a values file rendered from manifests/cilium-values.yaml:
 *
 *   - kubeProxyReplacement=true: eBPF does service load-balancing (K3s runs with
 *     --disable-kube-proxy). Without kube-proxy the agents need the API server's
 *     real address, k8sServiceHost/k8sServicePort, which the CLI does not detect
 *     on K3s and the article leaves out.
 *   - cluster-pool IPAM with ipam.operator.clusterPoolIPv4PodCIDRList: the article's
 *     clusterPoolIPv4PodCIDR is ignored by the 1.19 chart, and both clusters would
 *     get 10.0.0.0/8.
 *   - cluster.name and cluster.id: unique per cluster, the mesh's identity.
 *   - L2 announcements, so LoadBalancer IPs answer ARP on the LAN; Hubble with relay,
 *     UI and metrics.
 *
 * Re-running is safe: an existing release with these values is left alone; one
 * with other values is reported, never silently upgraded.
 *
 * You should see: `cilium status` with Cilium and Operator OK.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { preflight, installCilium } from './lib/install-cilium.mjs';

export const step = defineStep({
  id: '01',
  name: '01-install-a',
  title: 'Install Cilium on cluster A',
  file: import.meta.url,
  tools: ['cilium'],
  actions: (config) => [preflight(config, config.a), installCilium(config, config.a)],
});

await runIfMain(step);
