// @ts-check
// What should listen where, computed from the two stores alone (no sockets):
// the L2 announcement rule, the echo listeners on announced LoadBalancer IPs,
// and the clustermesh-apiserver endpoints. The data plane binds what this
// plans; meshState uses it when no data plane runs.
import {
  KUBE_SYSTEM, ciliumAgentNodes, ciliumConfig, deploymentHasReadyReplica, selectorMatches, serviceSelectorLabels,
} from '../controllers/util.mjs';
import { nodeLabels } from '../controllers/workloads.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinKey} TwinKey */
/** @typedef {import('../types.js').TwinCluster} TwinCluster */

export const L2_POLICIES = 'cilium.io/ciliuml2announcementpolicies';
export const CLUSTERMESH_PORT = 2379;
export const CLUSTERMESH_NODEPORT = 32379;

/**
 * @typedef {{ cluster: TwinKey, ip: string, port: number, kind: 'echo'|'clustermesh', service: string }} PlannedListener
 * @typedef {{ announced: boolean, reason: string, node?: string, policy?: string }} Announcement
 */

/**
 * Cilium's L2 announcer: a LoadBalancer IP is answered for (ARP) while
 * l2announcements are enabled, the Service's class is unset or
 * io.cilium/l2-announcer, a CiliumL2AnnouncementPolicy with loadBalancerIPs:
 * true selects the Service (labels plus the io.kubernetes.service.* virtual
 * labels; no selector: all) and a node it selects (no selector: all) runs a
 * ready cilium agent. The node that announces holds the lease.
 * @param {TwinCluster} cluster @param {KubeObject} svc
 * @returns {Announcement}
 */
export function l2Announcement(cluster, svc) {
  const store = cluster.store;
  const cfg = ciliumConfig(store);
  if (!cfg) return { announced: false, reason: 'Cilium is not installed' };
  if (cfg['enable-l2-announcements'] !== 'true') return { announced: false, reason: 'L2 announcements are not enabled (enable-l2-announcements)' };
  const cls = svc.spec?.loadBalancerClass;
  if (cls && cls !== 'io.cilium/l2-announcer') return { announced: false, reason: `loadBalancerClass ${cls} is not announced over L2` };
  const agents = ciliumAgentNodes(store, cluster.nodes);
  if (!agents.size) return { announced: false, reason: 'no cilium agent is ready' };
  const labels = serviceSelectorLabels(svc);
  const policies = store.list(L2_POLICIES).filter((p) => p.spec?.loadBalancerIPs === true &&
    selectorMatches(p.spec?.serviceSelector, labels));
  if (!policies.length) return { announced: false, reason: 'no CiliumL2AnnouncementPolicy with loadBalancerIPs: true selects the service' };
  for (const p of policies) {
    for (const n of cluster.nodes) {
      if (!agents.has(n.name)) continue;
      if (!selectorMatches(p.spec?.nodeSelector, nodeLabels(cluster, n))) continue;
      return { announced: true, reason: 'announced', node: n.name, policy: p.metadata.name };
    }
  }
  return { announced: false, reason: 'no node selected by a matching CiliumL2AnnouncementPolicy runs a ready cilium agent' };
}

/** @param {KubeObject} svc @returns {string[]} */
const ingressIps = (svc) => (svc.status?.loadBalancer?.ingress ?? [])
  .map((/** @type {any} */ i) => i?.ip).filter((/** @type {unknown} */ ip) => typeof ip === 'string' && ip !== '');

/** @param {KubeObject} svc @returns {any[]} */
const tcpPorts = (svc) => (svc.spec?.ports ?? []).filter((/** @type {any} */ p) => (p.protocol ?? 'TCP') === 'TCP' && p.port);

/**
 * Every listener the two clusters ask for, cluster a first. Two clusters may
 * ask for the same IP:port; the data plane lets the first one bind.
 * @param {Twin} twin @returns {PlannedListener[]}
 */
export function planListeners(twin) {
  /** @type {PlannedListener[]} */
  const out = [];
  for (const key of /** @type {TwinKey[]} */ (Object.keys(twin.clusters).sort())) {
    const cluster = twin.clusters[key];
    const store = cluster.store;
    for (const svc of store.list('/services')) {
      const service = `${svc.metadata.namespace}/${svc.metadata.name}`;
      const isMesh = service === `${KUBE_SYSTEM}/clustermesh-apiserver`;
      if (isMesh) {
        if (!deploymentHasReadyReplica(store, KUBE_SYSTEM, 'clustermesh-apiserver')) continue;
        if (svc.spec?.type === 'NodePort') {
          for (const p of tcpPorts(svc)) {
            for (const n of cluster.nodes) out.push({ cluster: key, ip: n.ip, port: Number(p.nodePort ?? CLUSTERMESH_NODEPORT), kind: 'clustermesh', service });
          }
          continue;
        }
      }
      if (svc.spec?.type !== 'LoadBalancer') continue;
      const ips = ingressIps(svc);
      if (!ips.length || !l2Announcement(cluster, svc).announced) continue;
      for (const ip of ips) {
        for (const p of tcpPorts(svc)) out.push({ cluster: key, ip, port: Number(p.port), kind: isMesh ? 'clustermesh' : 'echo', service });
      }
    }
  }
  return out;
}

/**
 * Who would answer on ip:port as a clustermesh-apiserver if the plan were
 * bound now (first asker wins).
 * @param {Twin} twin @param {string} ip @param {number} port
 * @returns {TwinKey | undefined}
 */
export function plannedServedBy(twin, ip, port) {
  const first = planListeners(twin).find((l) => l.ip === ip && l.port === port);
  return first?.kind === 'clustermesh' ? first.cluster : undefined;
}
