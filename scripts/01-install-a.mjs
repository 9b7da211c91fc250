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
 * Before it, a preflight: kubectl and cilium answer, and so does A's API server.
 *
 * You should see: `cilium status` with Cilium and Operator OK.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl, cilium } from './lib/commands.mjs';
import { ciliumValues } from './lib/manifests.mjs';
import { toolsAnswer, installAction } from './lib/install-cilium.mjs';

/**
 * Every form of `cilium version` (--client too) also asks GitHub for the latest
 * stable version, with no timeout: slow or stuck in an offline lab. Through a
 * proxy at port 0 of loopback, which no one can listen on, that ask fails at once
 * ("cilium image (stable): unknown"); the rest is local.
 */
const OFFLINE = { HTTPS_PROXY: 'http://127.0.0.1:0' };

export const step = defineStep({
  id: '01',
  name: '01-install-a',
  title: 'Install Cilium on cluster A',
  file: import.meta.url,
  tools: ['cilium'],
  actions: (config) => {
    const { a, ciliumVersion, timeouts } = config;
    // The preflight: the tools answer, and so does A's API server. Its check runs these
    // three commands and its transcript prints them, so the two cannot differ.
    // You should see: "gitVersion": "v1.33.9" (client) and "v1.33.5+k3s1" (server); cilium-cli: v0.19.7;
    // A's three nodes (k3s-a-server, k3s-a-agent-1, k3s-a-agent-2) with their INTERNAL-IP.
    const kubectlVersion = kubectl`--context ${a.context} version -o json`.readOnly();
    const cliVersion = cilium`version --client`.withEnv(OFFLINE).readOnly();
    const nodes = kubectl`--context ${a.context} get nodes -o wide`.readOnly();
    // The values file: manifests/cilium-values.yaml with A's name, id, pod CIDR and API server.
    const values = ciliumValues(config, a);
    return [
      {
        title: `kubectl and cilium are installed and ${a.context} answers`,
        // Done when all three answer; the detail names the versions. Refused while the K3s
        // kubeconfigs are set and step 00 has not merged them yet.
        check: (rt) => toolsAnswer(rt, config, a, { kubectl: kubectlVersion, cilium: cliVersion, nodes }),
        verify: [kubectlVersion, cliVersion, nodes],
      },
      // Done when Helm release cilium on A is deployed with exactly this values file and chart
      // version, and the agents and operator are ready. Refused, changing nothing: a release with
      // other values (what differs is listed), or one left pending longer than TIMEOUT_CILIUM.
      installAction(config, a, {
        values,
        // The article's install: a Helm install of chart cilium, driven by the CLI.
        // You should see: 🔮 Auto-detected Kubernetes kind: K3s / ℹ️  Using Cilium version 1.19.3 / ℹ️  Using cluster name "cluster-a"
        install: cilium`install --context ${a.context} --version ${ciliumVersion} --values ${values}`.helmOn(a),
        // You should see: Cilium: OK, Operator: OK, DaemonSet cilium Desired: 3, Ready: 3/3
        verify: cilium`status --context ${a.context} --wait --wait-duration ${timeouts.cilium}s --interactive=false`
          .waitsFor(`Cilium on ${a.context} to be ready`, timeouts.cilium).readOnly(),
      }),
    ];
  },
});

await runIfMain(step);
