// @ts-check
// The built-in resources the twin serves, with the discovery data a K3s v1.33
// API server reports for them (short names, verbs, categories, subresources).
// kubectl only knows short names such as `deploy` or `svc` from discovery.

/**
 * @typedef {object} SubresourceInfo
 * @property {string} group  group of the kind the subresource answers with
 * @property {string} version
 * @property {string} kind
 * @property {string[]} verbs
 */

/**
 * @typedef {object} ResourceInfo
 * @property {string} group '' for the core group
 * @property {string[]} versions served versions, preferred (storage) first
 * @property {string} storageVersion
 * @property {string} plural
 * @property {string} singular
 * @property {string} kind
 * @property {string} listKind
 * @property {boolean} namespaced
 * @property {string[]} shortNames
 * @property {string[]} verbs
 * @property {string[]} categories
 * @property {Record<string, SubresourceInfo>} subresources
 * @property {string} key store key, "group/plural" ("/pods")
 * @property {import('../store/types.js').KubeObject} [crd] the CRD of a custom resource
 */

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NO_COLLECTION = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

/**
 * @param {string} group @param {string} version @param {string} kind @param {string} plural
 * @param {{ namespaced?: boolean, short?: string[], verbs?: string[], categories?: string[], status?: boolean, scale?: boolean, extraSub?: Record<string, SubresourceInfo>, singular?: string }} [o]
 * @returns {ResourceInfo}
 */
function res(group, version, kind, plural, o = {}) {
  /** @type {Record<string, SubresourceInfo>} */
  const subresources = {};
  if (o.status) subresources.status = { group, version, kind, verbs: STATUS_VERBS };
  if (o.scale) subresources.scale = { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: STATUS_VERBS };
  Object.assign(subresources, o.extraSub ?? {});
  return {
    group,
    versions: [version],
    storageVersion: version,
    plural,
    singular: o.singular ?? kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: o.namespaced ?? true,
    shortNames: o.short ?? [],
    verbs: o.verbs ?? ALL_VERBS,
    categories: o.categories ?? [],
    subresources,
    key: `${group}/${plural}`,
  };
}

/** @type {ResourceInfo[]} */
export const BUILTIN_RESOURCES = [
  res('', 'v1', 'ConfigMap', 'configmaps', { short: ['cm'] }),
  res('', 'v1', 'Endpoints', 'endpoints', { short: ['ep'], singular: 'endpoints' }),
  res('', 'v1', 'Event', 'events', { short: ['ev'] }),
  res('', 'v1', 'Namespace', 'namespaces', {
    namespaced: false, short: ['ns'], verbs: NO_COLLECTION, status: true,
    extraSub: { finalize: { group: '', version: 'v1', kind: 'Namespace', verbs: ['update'] } },
  }),
  res('', 'v1', 'Node', 'nodes', { namespaced: false, short: ['no'], status: true }),
  res('', 'v1', 'Pod', 'pods', { short: ['po'], categories: ['all'], status: true }),
  res('', 'v1', 'ResourceQuota', 'resourcequotas', { short: ['quota'], status: true }),
  res('', 'v1', 'Secret', 'secrets'),
  res('', 'v1', 'ServiceAccount', 'serviceaccounts', { short: ['sa'] }),
  res('', 'v1', 'Service', 'services', { short: ['svc'], categories: ['all'], status: true, verbs: NO_COLLECTION }),
  res('apps', 'v1', 'DaemonSet', 'daemonsets', { short: ['ds'], categories: ['all'], status: true }),
  res('apps', 'v1', 'Deployment', 'deployments', { short: ['deploy'], categories: ['all'], status: true, scale: true }),
  res('apps', 'v1', 'ReplicaSet', 'replicasets', { short: ['rs'], categories: ['all'], status: true, scale: true }),
  res('batch', 'v1', 'CronJob', 'cronjobs', { short: ['cj'], categories: ['all'], status: true }),
  res('batch', 'v1', 'Job', 'jobs', { categories: ['all'], status: true }),
  res('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', { namespaced: false }),
  res('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', { short: ['pdb'], status: true }),
  res('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', {
    namespaced: false, short: ['crd', 'crds'], categories: ['api-extensions'], status: true,
  }),
  res('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  res('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
  res('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', { namespaced: false }),
  res('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  res('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  res('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
];

/** Groups in the order a K3s server lists them (legacy core group apart). */
export const BUILTIN_GROUP_ORDER = ['apps', 'batch', 'coordination.k8s.io', 'discovery.k8s.io', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io'];

/** @param {ResourceInfo} info @param {string} [version] */
export function apiVersionOf(info, version = info.storageVersion) {
  return info.group ? `${info.group}/${version}` : version;
}

export const CRD_KEY = 'apiextensions.k8s.io/customresourcedefinitions';
