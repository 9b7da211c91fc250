// @ts-check
// The chart's ServiceAccounts and RBAC (templates/*/serviceaccount.yaml,
// clusterrole(binding).yaml, role(binding).yaml of chart 1.19) for the
// components the values enable. Names, namespaces, conditions and labels follow
// the chart: ServiceAccounts carry commonLabels only, RBAC objects
// app.kubernetes.io/part-of=cilium. serviceAccounts.<c>.create/.name/
// .annotations/.automount and rbac.create are honoured; the values the chart
// defaults are filled in here (values.mjs does not carry serviceAccounts).
// Rules: a faithful subset of the chart's (the resources and verbs the twin's
// components use; the conditional rules for BGP, L2, ingress/gateway secrets are
// left out). Not rendered: the Roles in the cilium-secrets namespace (the twin
// renders no such Namespace), preflight/nodeinit/hubble-certgen accounts.
import { dig, table, truthy } from './values.mjs';

/** @typedef {import('./values.mjs').Values} Values */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */

/** serviceAccounts.<key> defaults of the chart's values.yaml. */
const SA_DEFAULTS = /** @type {const} */ ({
  cilium: { name: 'cilium', automount: true },
  envoy: { name: 'cilium-envoy', automount: true },
  operator: { name: 'cilium-operator', automount: true },
  relay: { name: 'hubble-relay', automount: false },
  ui: { name: 'hubble-ui', automount: true },
  clustermeshApiserver: { name: 'clustermesh-apiserver', automount: true },
  clustermeshcertgen: { name: 'clustermesh-apiserver-generate-certs', automount: true },
});

/** @typedef {keyof typeof SA_DEFAULTS} SaKey */

/** @param {Values} v @param {SaKey} key */
const saValues = (v, key) => table(dig(v, 'serviceAccounts', key));

/** The ServiceAccount name a component's pods run with. @param {Values} v @param {SaKey} key */
export const saName = (v, key) => String(saValues(v, key).name ?? SA_DEFAULTS[key].name);

/** The pods' automountServiceAccountToken. @param {Values} v @param {SaKey} key @returns {boolean} */
export const saAutomount = (v, key) => {
  const a = saValues(v, key).automount;
  return a === undefined || a === null ? SA_DEFAULTS[key].automount : truthy(a);
};

/** Whether the chart renders the component's ServiceAccount. @param {Values} v @param {SaKey} key */
export const saCreate = (v, key) => truthy(saValues(v, key).create ?? true);

/**
 * A ServiceAccount as the chart renders it.
 * @param {Values} v @param {SaKey} key @param {string} ns @param {Record<string, string>} common
 * @param {Record<string, any>} [extraAnnotations] annotations laid under the account's own
 * @returns {KubeObject}
 */
export function serviceAccount(v, key, ns, common, extraAnnotations = {}) {
  const annotations = { ...extraAnnotations, ...table(saValues(v, key).annotations) };
  return {
    apiVersion: 'v1', kind: 'ServiceAccount',
    metadata: {
      name: saName(v, key), namespace: ns,
      ...(Object.keys(common).length ? { labels: { ...common } } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
  };
}

/** @param {string[]} apiGroups @param {string[]} resources @param {string[]} verbs @param {string[]} [resourceNames] */
const rule = (apiGroups, resources, verbs, resourceNames) => ({ apiGroups, resources, ...(resourceNames ? { resourceNames } : {}), verbs });
const GLW = ['get', 'list', 'watch'];

const AGENT_RULES = [
  rule(['networking.k8s.io'], ['networkpolicies'], GLW),
  rule(['discovery.k8s.io'], ['endpointslices'], GLW),
  rule([''], ['namespaces', 'services', 'pods', 'endpoints', 'nodes'], GLW),
  rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], ['list', 'watch', 'get']),
  rule(['cilium.io'], ['ciliumloadbalancerippools', 'ciliumclusterwideenvoyconfigs', 'ciliumclusterwidenetworkpolicies', 'ciliumegressgatewaypolicies',
    'ciliumendpoints', 'ciliumendpointslices', 'ciliumenvoyconfigs', 'ciliumidentities', 'ciliumlocalredirectpolicies', 'ciliumnetworkpolicies',
    'ciliumnodes', 'ciliumnodeconfigs', 'ciliumcidrgroups', 'ciliuml2announcementpolicies', 'ciliumpodippools'], ['list', 'watch']),
  rule(['cilium.io'], ['ciliumidentities', 'ciliumendpoints', 'ciliumnodes'], ['create']),
  rule(['cilium.io'], ['ciliumidentities'], ['update']),
  rule(['cilium.io'], ['ciliumendpoints'], ['delete', 'get']),
  rule(['cilium.io'], ['ciliumnodes', 'ciliumnodes/status'], ['get', 'update']),
  rule(['cilium.io'], ['ciliumendpoints/status', 'ciliumendpoints', 'ciliuml2announcementpolicies/status'], ['patch']),
];

const OPERATOR_RULES = [
  rule([''], ['pods'], ['get', 'list', 'watch', 'delete']),
  rule([''], ['configmaps'], ['patch'], ['cilium-config']),
  rule([''], ['nodes'], ['list', 'watch']),
  rule([''], ['nodes', 'nodes/status'], ['patch']),
  rule(['discovery.k8s.io'], ['endpointslices'], GLW),
  rule([''], ['services/status'], ['update', 'patch']),
  rule([''], ['namespaces', 'secrets'], GLW),
  rule([''], ['services', 'endpoints'], GLW),
  rule(['cilium.io'], ['ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies'], ['create', 'update', 'deletecollection', 'patch', 'get', 'list', 'watch']),
  rule(['cilium.io'], ['ciliumnetworkpolicies/status', 'ciliumclusterwidenetworkpolicies/status'], ['patch', 'update']),
  rule(['cilium.io'], ['ciliumendpoints', 'ciliumidentities'], ['delete', 'list', 'watch']),
  rule(['cilium.io'], ['ciliumidentities'], ['update']),
  rule(['cilium.io'], ['ciliumnodes'], ['create', 'update', 'get', 'list', 'watch', 'delete']),
  rule(['cilium.io'], ['ciliumnodes/status'], ['update']),
  rule(['cilium.io'], ['ciliumendpointslices', 'ciliumenvoyconfigs'], ['create', 'update', 'get', 'list', 'watch', 'delete', 'patch']),
  rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], ['create', 'get', 'list', 'watch']),
  rule(['cilium.io'], ['ciliumloadbalancerippools', 'ciliumpodippools'], GLW),
  rule(['cilium.io'], ['ciliumpodippools'], ['create']),
  rule(['cilium.io'], ['ciliumloadbalancerippools/status'], ['patch']),
  rule(['coordination.k8s.io'], ['leases'], ['create', 'get', 'update']),
];

const CLUSTERMESH_RULES = [
  rule(['cilium.io'], ['ciliumidentities', 'ciliumendpoints', 'ciliumnodes', 'ciliumendpointslices'], GLW),
  rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], ['list', 'watch']),
  rule([''], ['endpoints', 'namespaces', 'services'], GLW),
  rule(['discovery.k8s.io'], ['endpointslices'], GLW),
];

const UI_RULES = [
  rule(['networking.k8s.io'], ['networkpolicies'], GLW),
  rule([''], ['componentstatuses', 'endpoints', 'namespaces', 'nodes', 'pods', 'services'], GLW),
  rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], GLW),
  rule(['cilium.io'], ['*'], GLW),
];

const RBAC = 'rbac.authorization.k8s.io/v1';

/**
 * A ClusterRole and its ClusterRoleBinding to one ServiceAccount.
 * @param {string} name @param {any[]} rules @param {string} sa @param {string} ns
 * @param {Record<string, string>} labels @param {Record<string, any>} ann
 */
function clusterRbac(name, rules, sa, ns, labels, ann) {
  const metadata = { name, ...(Object.keys(ann).length ? { annotations: ann } : {}), labels };
  return {
    role: { apiVersion: RBAC, kind: 'ClusterRole', metadata: structuredClone(metadata), rules },
    binding: {
      apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: structuredClone(metadata),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
  };
}

/**
 * @typedef {object} Enabled which components chart.mjs renders
 * @property {boolean} agent
 * @property {boolean} envoy
 * @property {boolean} operator
 * @property {boolean} relay
 * @property {boolean} ui
 * @property {boolean} clustermesh clustermesh.useAPIServer
 */

/**
 * The ServiceAccounts and RBAC objects, with their template paths.
 * @param {Values} v @param {string} ns @param {Record<string, string>} common commonLabels @param {Enabled} on
 * @returns {Array<{ source: string, obj: KubeObject }>}
 */
export function renderRbac(v, ns, common, on) {
  /** @type {Array<{ source: string, obj: KubeObject }>} */
  const out = [];
  const rbac = truthy(dig(v, 'rbac', 'create') ?? true);
  const partOf = { 'app.kubernetes.io/part-of': 'cilium', ...common };
  const cmAnn = table(dig(v, 'clustermesh', 'annotations'));
  /**
   * @param {string} dir @param {{ role: KubeObject, binding: KubeObject }} r
   * @param {boolean} role the (Cluster)Role's condition @param {boolean} binding the binding's
   */
  const pushCluster = (dir, r, role, binding) => {
    if (role) out.push({ source: `${dir}/clusterrole.yaml`, obj: r.role });
    if (binding) out.push({ source: `${dir}/clusterrolebinding.yaml`, obj: r.binding });
  };

  if (on.agent && saCreate(v, 'cilium')) out.push({ source: 'cilium-agent/serviceaccount.yaml', obj: serviceAccount(v, 'cilium', ns, common) });
  if (on.envoy && saCreate(v, 'envoy')) out.push({ source: 'cilium-envoy/serviceaccount.yaml', obj: serviceAccount(v, 'envoy', ns, common) });
  if (on.operator && saCreate(v, 'operator')) out.push({ source: 'cilium-operator/serviceaccount.yaml', obj: serviceAccount(v, 'operator', ns, common) });
  if (on.relay && saCreate(v, 'relay')) out.push({ source: 'hubble-relay/serviceaccount.yaml', obj: serviceAccount(v, 'relay', ns, common) });
  if (on.ui && saCreate(v, 'ui')) out.push({ source: 'hubble-ui/serviceaccount.yaml', obj: serviceAccount(v, 'ui', ns, common) });
  if (on.clustermesh && saCreate(v, 'clustermeshApiserver')) {
    out.push({ source: 'clustermesh-apiserver/serviceaccount.yaml', obj: serviceAccount(v, 'clustermeshApiserver', ns, common, cmAnn) });
  }

  if (on.agent) {
    const bind = saCreate(v, 'cilium');
    pushCluster('cilium-agent', clusterRbac('cilium', AGENT_RULES, saName(v, 'cilium'), ns, partOf, {}), rbac, bind);
    const metadata = { name: 'cilium-config-agent', namespace: ns, labels: partOf };
    if (rbac) out.push({ source: 'cilium-agent/role.yaml', obj: { apiVersion: RBAC, kind: 'Role', metadata: structuredClone(metadata), rules: [rule([''], ['configmaps'], GLW)] } });
    if (bind) {
      out.push({
        source: 'cilium-agent/rolebinding.yaml',
        obj: {
          apiVersion: RBAC, kind: 'RoleBinding', metadata: structuredClone(metadata),
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cilium-config-agent' },
          subjects: [{ kind: 'ServiceAccount', name: saName(v, 'cilium'), namespace: ns }],
        },
      });
    }
  }
  if (on.operator) {
    const r = clusterRbac('cilium-operator', OPERATOR_RULES, saName(v, 'operator'), ns, partOf, table(dig(v, 'operator', 'annotations')));
    pushCluster('cilium-operator', r, rbac, saCreate(v, 'operator'));
  }
  if (on.ui && saCreate(v, 'ui')) {
    pushCluster('hubble-ui', clusterRbac('hubble-ui', UI_RULES, saName(v, 'ui'), ns, partOf, table(dig(v, 'hubble', 'ui', 'annotations'))), true, true);
  }
  const crdIdentities = String(v.identityAllocationMode ?? 'crd') === 'crd';
  if (on.clustermesh && saCreate(v, 'clustermeshApiserver') && dig(v, 'clustermesh', 'apiserver', 'kvstoremesh', 'kvstoreMode') === 'internal' && crdIdentities) {
    const r = clusterRbac('clustermesh-apiserver', CLUSTERMESH_RULES, saName(v, 'clustermeshApiserver'), ns, partOf, cmAnn);
    pushCluster('clustermesh-apiserver', r, rbac, true);
  }
  return out;
}
