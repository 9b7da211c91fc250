// @ts-check
// Checks across the two clusters: distinct API servers, pod CIDRs apart from each
// other and from every service range, mesh IPs and app pools distinct and outside
// the pod and service ranges.
import { formatIPv4, formatCidr, formatRange, overlaps, contains } from './net.mjs';
import { q } from './config-parsers.mjs';

/** @typedef {import('./types.d.ts').ClusterConfig} ClusterConfig */
/** @typedef {import('./types.d.ts').ClusterKey} ClusterKey */
/** @typedef {import('./net.mjs').IPv4Cidr} IPv4Cidr */
/** @typedef {import('./config-cluster.mjs').Nets} Nets */
/** @typedef {import('./config-reader.mjs').Reader} Reader */

/**
 * @param {Reader} r
 * @param {Record<ClusterKey, ClusterConfig>} clusters
 * @param {Record<ClusterKey, Nets>} nets
 * @param {boolean} k3sMode
 */
export function checkAcrossClusters({ problem, value }, clusters, nets, k3sMode) {
  const { a: na, b: nb } = nets;
  if (k3sMode) {
    if (clusters.a.server !== '' && clusters.a.server === clusters.b.server) {
      const variable = value('CLUSTER_B_KUBECONFIG_SERVER') !== '' ? 'CLUSTER_B_KUBECONFIG_SERVER' : 'CLUSTER_B_API_HOST';
      problem(variable, `gives the API server ${clusters.b.server}, the same as cluster A's, so step 00 would write one server for both clusters and they would be one; give each cluster its own address`);
    }
  } else if (clusters.a.server !== '' && clusters.a.server === clusters.b.server) {
    let message = `context ${q(clusters.b.context)} reaches the same API server (${clusters.b.server}) as CLUSTER_A_CONTEXT (${q(clusters.a.context)}), so both would be one cluster`;
    if (na.contextCluster !== undefined && na.contextCluster === nb.contextCluster) {
      message += `. Both contexts name the cluster entry ${q(na.contextCluster)}; in a merged kubeconfig the first file's entry of a name wins, so rename the cluster and user entries too, not just the contexts (K3s calls all three "default")`;
    }
    problem('CLUSTER_B_CONTEXT', message);
  }

  /** @type {Array<[string, IPv4Cidr | null]>} */
  const cidrs = [
    ['CLUSTER_A_POD_CIDR', na.pod],
    ['CLUSTER_B_POD_CIDR', nb.pod],
    ['CLUSTER_A_SERVICE_CIDR', na.service],
    ['CLUSTER_B_SERVICE_CIDR', nb.service],
  ];
  if (na.pod && nb.pod && overlaps(na.pod, nb.pod)) {
    problem('CLUSTER_B_POD_CIDR', `${formatCidr(nb.pod)} overlaps CLUSTER_A_POD_CIDR (${formatCidr(na.pod)}); pod CIDRs must not overlap across the mesh, or pods in the two clusters get the same addresses`);
  }
  for (const [podVar, pod] of cidrs.slice(0, 2)) {
    if (!pod) continue;
    for (const [svcVar, svc] of cidrs.slice(2)) {
      if (svc && overlaps(pod, svc)) {
        problem(podVar, `${formatCidr(pod)} overlaps ${svcVar} (${formatCidr(svc)}); pod addresses must lie outside every service range in the mesh`);
      }
    }
  }

  if (na.mesh !== null && nb.mesh !== null && na.mesh === nb.mesh) {
    problem(
      'CLUSTER_B_MESH_IP',
      `is ${formatIPv4(nb.mesh)}, the same as CLUSTER_A_MESH_IP: two clustermesh-apiservers on one IP never connect (the article's troubleshooting section shows this); give each cluster its own`,
    );
  }
  for (const [key, n] of /** @type {const} */ ([['a', na], ['b', nb]])) {
    const X = key.toUpperCase();
    if (n.mesh !== null) {
      for (const [cVar, c] of cidrs) {
        if (c && contains(c, n.mesh)) {
          problem(`CLUSTER_${X}_MESH_IP`, `${formatIPv4(n.mesh)} lies inside ${cVar} (${formatCidr(c)}); a LoadBalancer IP must be outside the pod and service ranges`);
        }
      }
    }
  }
  if (na.pool && nb.pool && overlaps(na.pool, nb.pool)) {
    problem(
      'CLUSTER_B_APP_POOL_START',
      `the app pool ${formatRange(nb.pool)} overlaps cluster A's app pool (${formatRange(na.pool)}); Cilium does not compare pools across clusters, and on one L2 segment both clusters would answer ARP for the same IP`,
    );
  }
  for (const [key, n] of /** @type {const} */ ([['a', na], ['b', nb]])) {
    const X = key.toUpperCase();
    if (!n.pool) continue;
    for (const [mVar, m] of /** @type {const} */ ([['CLUSTER_A_MESH_IP', na.mesh], ['CLUSTER_B_MESH_IP', nb.mesh]])) {
      if (m !== null && contains(n.pool, m)) {
        problem(`CLUSTER_${X}_APP_POOL_START`, `the app pool ${formatRange(n.pool)} contains ${mVar} (${formatIPv4(m)}); the clustermesh-apiserver's IP needs a pool of its own`);
      }
    }
    for (const [cVar, c] of cidrs) {
      if (c && overlaps(c, n.pool)) {
        problem(`CLUSTER_${X}_APP_POOL_START`, `the app pool ${formatRange(n.pool)} overlaps ${cVar} (${formatCidr(c)}); LoadBalancer IPs must be outside the pod and service ranges`);
      }
    }
  }
}

/**
 * Hubble stays on: step 02 shares cluster A's Cilium CA, the Secret
 * kube-system/cilium-ca, which the chart creates at install only for Hubble's
 * TLS certificates (its other reason, the clustermesh-apiserver's, comes at
 * step 06, after B is installed). Relay and the UI may be off; the UI reads
 * through Relay.
 * @param {Reader} r
 * @param {boolean | null} enabled
 * @param {boolean | null} relay
 * @param {boolean | null} ui
 */
export function checkHubble({ problem }, enabled, relay, ui) {
  if (enabled === false) {
    problem('HUBBLE_ENABLED', 'is false, but step 02 shares cluster A\'s Cilium CA (Secret kube-system/cilium-ca), which installing Cilium ' +
      'creates only for Hubble\'s certificates; set it true (HUBBLE_RELAY_ENABLED and HUBBLE_UI_ENABLED can be false)');
  }
  if (ui === true && relay === false) {
    problem('HUBBLE_UI_ENABLED', 'is true but HUBBLE_RELAY_ENABLED is false; the Hubble UI reads flows through Hubble Relay');
  }
}
