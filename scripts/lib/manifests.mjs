// @ts-check
// What the runbook applies, rendered from manifests/*.yaml with values from the
// config. Names the article uses (cluster-pool, app-pool, l2-policy) are fixed
// here; everything that differs between setups comes from the env file.
import { renderManifest, parseManifests } from './render.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */

export const MESH_POOL = 'cluster-pool';
export const APP_POOL = 'app-pool';
export const L2_POLICY = 'l2-policy';
export const POOL_CRD = 'ciliumloadbalancerippools.cilium.io';
export const L2_CRD = 'ciliuml2announcementpolicies.cilium.io';
export const POOL_RESOURCE = POOL_CRD;
export const L2_RESOURCE = L2_CRD;

/** A rendered manifest: the YAML text piped to kubectl and the objects it holds. */
export class Manifest {
  /** @param {string} name a file name for transcripts, e.g. "mesh-pool-cluster-a.yaml" @param {string} yaml */
  constructor(name, yaml) {
    this.name = name;
    this.yaml = yaml;
    /** @type {any[]} */
    this.objects = parseManifests(yaml);
  }
}

/** @param {Config} config @param {ClusterConfig} c */
export function ciliumValues(config, c) {
  return new Manifest(`cilium-values-${c.context}.yaml`, renderManifest('cilium-values.yaml', {
    clusterName: c.name,
    clusterId: c.id,
    apiHost: c.apiHost,
    apiPort: c.apiPort,
    podCidr: c.podCidr,
    hubbleEnabled: config.hubble.enabled,
    hubbleRelay: config.hubble.relay,
    hubbleUi: config.hubble.ui,
    hubbleMetrics: [...config.hubble.metrics],
  }));
}

/** The ClusterMesh pool and the L2 announcement policy (step 04). @param {ClusterConfig} c */
export function meshPool(c) {
  return new Manifest(`mesh-pool-${c.context}.yaml`, [
    renderManifest('mesh-pool.yaml', { poolName: MESH_POOL, meshIp: c.meshIp }),
    renderManifest('l2-policy.yaml', { policyName: L2_POLICY }),
  ].join('---\n'));
}

/** The L2 announcement policy alone (step 04 with MESH_SERVICE_TYPE=NodePort: no mesh pool). @param {ClusterConfig} c */
export function l2Policy(c) {
  return new Manifest(`l2-policy-${c.context}.yaml`, renderManifest('l2-policy.yaml', { policyName: L2_POLICY }));
}

/** @param {ClusterConfig} c */
export function appPool(c) {
  return new Manifest(`app-pool-${c.context}.yaml`, renderManifest('app-pool.yaml', {
    poolName: APP_POOL, start: c.appPool.start, stop: c.appPool.stop,
  }));
}

/** What the Service's affinity does, as the comment above it (ECHO_AFFINITY). */
const AFFINITY_NOTE = {
  local: "# affinity local: this cluster's pods answer; the other cluster's only when none here is ready.\n",
  remote: "# affinity remote: the other cluster's pods answer; this cluster's only when none there is ready.\n",
  '': "# no affinity: both clusters' pods answer, spread.\n",
};

/** The echo namespace, Deployment and global Service of one cluster, in one manifest. @param {Config} config @param {ClusterConfig} c */
export function echoApp(config, c) {
  const { namespace, name, replicas, servicePort, targetPort, affinity } = config.echo;
  const yaml = [
    renderManifest('echo-namespace.yaml', { namespace }),
    renderManifest('echo-deployment.yaml', { namespace, name, replicas, targetPort, image: c.echoImage }),
    renderManifest('echo-service.yaml', {
      namespace, name, port: servicePort, targetPort, affinity: affinity === '' ? undefined : affinity,
    }).replace(/^apiVersion:/m, `${AFFINITY_NOTE[affinity]}apiVersion:`),
  ].join('---\n');
  return new Manifest(`echo-${c.context}.yaml`, yaml);
}
