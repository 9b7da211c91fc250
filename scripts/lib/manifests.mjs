// @ts-check
// What the runbook applies, rendered from manifests/*.yaml with values from the
// config. Names the article uses (cluster-pool, app-pool, l2-policy) are fixed
// here; everything that differs between setups comes from the env file.
import { renderManifest, parseManifests } from './render.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./render.mjs').TemplateValue} TemplateValue */

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

/**
 * A manifest from templates under manifests/, each rendered with its values, in
 * order, as one YAML stream; `name` is its file name in a run's output and in a
 * transcript. A step names what it applies with it:
 *   manifest(`app-pool-${c.context}.yaml`, { 'app-pool.yaml': { poolName: APP_POOL, start, stop } })
 * @param {string} name
 * @param {Record<string, Record<string, TemplateValue>>} templates file under manifests/ → its values
 */
export function manifest(name, templates) {
  return new Manifest(name, Object.entries(templates).map(([file, values]) => renderManifest(file, values)).join('---\n'));
}

/** What the Service's affinity does, as the comment above it (ECHO_AFFINITY). */
export const AFFINITY_NOTE = {
  local: "# affinity local: this cluster's pods answer; the other cluster's only when none here is ready.\n",
  remote: "# affinity remote: the other cluster's pods answer; this cluster's only when none there is ready.\n",
  '': "# no affinity: both clusters' pods answer, spread.\n",
};
