// @ts-check
// Strategic-merge-patch metadata of built-in kinds: which lists merge by which
// key (the `patchMergeKey`/`patchStrategy:"merge"` tags of the Kubernetes Go
// types). Lists not listed here are replaced as a whole, as for atomic lists.
// Paths name list items with "[]": "spec.template.spec.containers[].ports".

/** @typedef {{ mergeKey?: string | string[], primitive?: boolean }} ListMeta */

/** @type {Record<string, string>} relative to a PodSpec */
const POD_SPEC_LISTS = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  schedulingGates: 'name',
};

/** @type {Record<string, string>} relative to a Container */
const CONTAINER_LISTS = {
  ports: 'containerPort',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
};

/** @param {string} prefix path of a PodSpec, with a trailing dot (or '') @returns {Record<string, ListMeta>} */
function podSpecAt(prefix) {
  /** @type {Record<string, ListMeta>} */
  const out = {};
  for (const [k, key] of Object.entries(POD_SPEC_LISTS)) out[`${prefix}${k}`] = { mergeKey: key };
  for (const c of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const [k, key] of Object.entries(CONTAINER_LISTS)) out[`${prefix}${c}[].${k}`] = { mergeKey: key };
  }
  return out;
}

/** @type {Record<string, ListMeta>} every kind */
const COMMON = {
  'metadata.finalizers': { primitive: true },
  'metadata.ownerReferences': { mergeKey: 'uid' },
  'status.conditions': { mergeKey: 'type' },
};

/** @type {Record<string, Record<string, ListMeta>>} by "group/Kind" */
const BY_KIND = {
  '/Pod': podSpecAt('spec.'),
  'apps/Deployment': podSpecAt('spec.template.spec.'),
  'apps/DaemonSet': podSpecAt('spec.template.spec.'),
  'apps/ReplicaSet': podSpecAt('spec.template.spec.'),
  'batch/Job': podSpecAt('spec.template.spec.'),
  'batch/CronJob': podSpecAt('spec.jobTemplate.spec.template.spec.'),
  '/Service': { 'spec.ports': { mergeKey: 'port' } },
  '/Node': { 'status.addresses': { mergeKey: 'type' } },
  '/Endpoints': {},
};

/**
 * @param {string} group @param {string} kind
 * @returns {((path: string) => ListMeta | undefined) | undefined} undefined: the kind has no strategic merge metadata
 */
export function patchMetaFor(group, kind) {
  const own = BY_KIND[`${group}/${kind}`];
  const table = { ...COMMON, ...(own ?? {}) };
  return (path) => table[path];
}

/**
 * List merge metadata of a custom resource from its structural schema:
 * `x-kubernetes-list-type: map` lists merge by `x-kubernetes-list-map-keys`,
 * `set` lists merge as primitive sets, everything else is replaced.
 * @param {any} schema openAPIV3Schema
 * @returns {(path: string) => ListMeta | undefined}
 */
export function patchMetaFromSchema(schema) {
  return (path) => {
    const common = COMMON[path];
    if (common) return common;
    let s = schema;
    for (const part of path.split('.')) {
      if (!s || typeof s !== 'object') return undefined;
      const m = /^(.*?)((?:\[\])*)$/.exec(part);
      const name = m?.[1] ?? part;
      const depth = (m?.[2].length ?? 0) / 2;
      s = s.properties?.[name] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      for (let i = 0; i < depth; i++) s = s?.items;
    }
    if (!s || typeof s !== 'object') return undefined;
    if (s['x-kubernetes-list-type'] === 'map' && Array.isArray(s['x-kubernetes-list-map-keys'])) {
      const keys = s['x-kubernetes-list-map-keys'];
      return { mergeKey: keys.length === 1 ? keys[0] : keys };
    }
    if (s['x-kubernetes-list-type'] === 'set') return { primitive: true };
    return undefined;
  };
}
