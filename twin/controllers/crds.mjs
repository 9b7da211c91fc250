// @ts-check
// The CustomResourceDefinitions cilium-operator registers when it starts (the
// chart ships none). The two kinds the runbook writes, CiliumLoadBalancerIPPool
// and CiliumL2AnnouncementPolicy, carry their real structural schemas (from
// cilium's pkg/k8s/apis/cilium.io/client/crds, descriptions left out) so that a
// server validating with fieldValidation=Strict rejects unknown fields, as a
// real one does. CiliumIdentity's schema is small and real too. The other kinds
// are listed with their real names, scopes, versions and short names, but their
// (very large) schemas are reduced to a spec/status that keeps unknown fields:
// nothing in the runbook writes them. That reduction is the only place here
// that uses x-kubernetes-preserve-unknown-fields.
//
// As the operator builds them (constructV1CRD), names carry kind, listKind,
// plural, singular and shortNames, without categories.

/** @typedef {import('../store/types.js').KubeObject} KubeObject */

const str = { type: 'string' };
const bool = { type: 'boolean' };

/** metav1.LabelSelector as controller-gen renders it for Cilium's slim types. */
const labelSelector = (atomic = true) => ({
  type: 'object',
  properties: {
    matchExpressions: {
      type: 'array',
      ...(atomic ? { 'x-kubernetes-list-type': 'atomic' } : {}),
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: str,
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: str, ...(atomic ? { 'x-kubernetes-list-type': 'atomic' } : {}) },
        },
      },
    },
    matchLabels: {
      type: 'object',
      additionalProperties: { type: 'string', maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
    },
  },
  ...(atomic ? { 'x-kubernetes-map-type': 'atomic' } : {}),
});

/** metav1.Condition list. */
const conditions = {
  type: 'array',
  'x-kubernetes-list-map-keys': ['type'],
  'x-kubernetes-list-type': 'map',
  items: {
    type: 'object',
    required: ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
    properties: {
      lastTransitionTime: { type: 'string', format: 'date-time' },
      message: { type: 'string', maxLength: 32768 },
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
      reason: { type: 'string', maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      type: {
        type: 'string',
        maxLength: 316,
        pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
      },
    },
  },
};

/** apiVersion, kind, metadata: the head of every CRD schema. */
const head = { apiVersion: str, kind: str, metadata: { type: 'object' } };

const poolSchema = {
  type: 'object',
  required: ['metadata', 'spec'],
  properties: {
    ...head,
    spec: {
      type: 'object',
      properties: {
        allowFirstLastIPs: { type: 'string', enum: ['Yes', 'No'] },
        blocks: {
          type: 'array',
          items: {
            type: 'object',
            properties: { cidr: { type: 'string', format: 'cidr' }, start: str, stop: str },
          },
        },
        disabled: { type: 'boolean', default: false },
        serviceSelector: labelSelector(true),
      },
    },
    status: { type: 'object', properties: { conditions } },
  },
};

const poolPrinterColumns = [
  { jsonPath: '.spec.disabled', name: 'Disabled', type: 'boolean' },
  { jsonPath: '.status.conditions[?(@.type=="cilium.io/PoolConflict")].status', name: 'Conflicting', type: 'string' },
  { jsonPath: '.status.conditions[?(@.type=="cilium.io/IPsAvailable")].message', name: 'IPs Available', type: 'string' },
  { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' },
];

const l2Schema = {
  type: 'object',
  required: ['metadata'],
  properties: {
    ...head,
    spec: {
      type: 'object',
      properties: {
        externalIPs: bool,
        interfaces: { type: 'array', items: str },
        loadBalancerIPs: bool,
        nodeSelector: labelSelector(false),
        serviceSelector: labelSelector(false),
      },
    },
    status: { type: 'object', properties: { conditions } },
  },
};

const identitySchema = {
  type: 'object',
  required: ['metadata', 'security-labels'],
  properties: {
    ...head,
    'security-labels': { type: 'object', additionalProperties: str },
  },
};

/** The reduced schema of kinds the twin does not model in detail. */
const opaque = (withStatus = true) => ({
  type: 'object',
  required: ['metadata'],
  properties: {
    ...head,
    spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    ...(withStatus ? { status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } : {}),
  },
});

const age = [{ jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' }];

/**
 * @typedef {{ kind: string, plural: string, singular: string, shortNames?: string[],
 *   scope: 'Cluster'|'Namespaced',
 *   versions: Array<{ name: string, schema: object, storage?: boolean, deprecated?: boolean,
 *     status?: boolean, columns?: object[] }> }} CrdDef
 */

/** @type {CrdDef[]} */
const DEFS = [
  {
    kind: 'CiliumLoadBalancerIPPool', plural: 'ciliumloadbalancerippools', singular: 'ciliumloadbalancerippool',
    shortNames: ['ippools', 'ippool', 'lbippool', 'lbippools'], scope: 'Cluster',
    versions: [
      { name: 'v2', schema: poolSchema, storage: true, status: true, columns: poolPrinterColumns },
      { name: 'v2alpha1', schema: poolSchema, deprecated: true, status: true, columns: poolPrinterColumns },
    ],
  },
  {
    kind: 'CiliumL2AnnouncementPolicy', plural: 'ciliuml2announcementpolicies', singular: 'ciliuml2announcementpolicy',
    shortNames: ['l2announcement'], scope: 'Cluster',
    versions: [{ name: 'v2alpha1', schema: l2Schema, storage: true, status: true, columns: age }],
  },
  {
    kind: 'CiliumNetworkPolicy', plural: 'ciliumnetworkpolicies', singular: 'ciliumnetworkpolicy',
    shortNames: ['cnp', 'ciliumnp'], scope: 'Namespaced',
    versions: [{ name: 'v2', schema: opaque(), storage: true, status: true, columns: age }],
  },
  {
    kind: 'CiliumClusterwideNetworkPolicy', plural: 'ciliumclusterwidenetworkpolicies', singular: 'ciliumclusterwidenetworkpolicy',
    shortNames: ['ccnp'], scope: 'Cluster',
    versions: [{ name: 'v2', schema: opaque(), storage: true, status: true, columns: age }],
  },
  {
    kind: 'CiliumEndpoint', plural: 'ciliumendpoints', singular: 'ciliumendpoint',
    shortNames: ['cep', 'ciliumep'], scope: 'Namespaced',
    versions: [{ name: 'v2', schema: opaque(), storage: true, status: true }],
  },
  {
    kind: 'CiliumNode', plural: 'ciliumnodes', singular: 'ciliumnode',
    shortNames: ['cn', 'ciliumn'], scope: 'Cluster',
    versions: [{ name: 'v2', schema: opaque(), storage: true, status: true, columns: age }],
  },
  {
    kind: 'CiliumIdentity', plural: 'ciliumidentities', singular: 'ciliumidentity',
    shortNames: ['ciliumid'], scope: 'Cluster',
    versions: [{ name: 'v2', schema: identitySchema, storage: true, status: true, columns: age }],
  },
  {
    kind: 'CiliumLocalRedirectPolicy', plural: 'ciliumlocalredirectpolicies', singular: 'ciliumlocalredirectpolicy',
    shortNames: ['clrp'], scope: 'Namespaced',
    versions: [{ name: 'v2', schema: opaque(), storage: true, status: true, columns: age }],
  },
  {
    kind: 'CiliumEgressGatewayPolicy', plural: 'ciliumegressgatewaypolicies', singular: 'ciliumegressgatewaypolicy',
    scope: 'Cluster',
    versions: [{ name: 'v2', schema: opaque(false), storage: true, columns: age }],
  },
  {
    kind: 'CiliumEnvoyConfig', plural: 'ciliumenvoyconfigs', singular: 'ciliumenvoyconfig',
    shortNames: ['cec'], scope: 'Namespaced',
    versions: [{ name: 'v2', schema: opaque(false), storage: true, columns: age }],
  },
  {
    kind: 'CiliumClusterwideEnvoyConfig', plural: 'ciliumclusterwideenvoyconfigs', singular: 'ciliumclusterwideenvoyconfig',
    shortNames: ['ccec'], scope: 'Cluster',
    versions: [{ name: 'v2', schema: opaque(false), storage: true, columns: age }],
  },
  {
    kind: 'CiliumNodeConfig', plural: 'ciliumnodeconfigs', singular: 'ciliumnodeconfig',
    scope: 'Namespaced',
    versions: [
      { name: 'v2', schema: opaque(false), storage: true },
      { name: 'v2alpha1', schema: opaque(false), deprecated: true },
    ],
  },
  {
    kind: 'CiliumCIDRGroup', plural: 'ciliumcidrgroups', singular: 'ciliumcidrgroup',
    shortNames: ['ccg'], scope: 'Cluster',
    versions: [{ name: 'v2alpha1', schema: opaque(false), storage: true }],
  },
  {
    kind: 'CiliumPodIPPool', plural: 'ciliumpodippools', singular: 'ciliumpodippool',
    shortNames: ['cpip'], scope: 'Cluster',
    versions: [{ name: 'v2alpha1', schema: opaque(false), storage: true }],
  },
];

/** Names of the CRDs the operator registers ("<plural>.cilium.io"). */
export const CILIUM_CRD_NAMES = DEFS.map((d) => `${d.plural}.cilium.io`);

/**
 * The CustomResourceDefinition objects as the operator submits them.
 * @returns {KubeObject[]}
 */
export function ciliumCrds() {
  return DEFS.map((d) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${d.plural}.cilium.io` },
    spec: {
      group: 'cilium.io',
      names: {
        kind: d.kind,
        listKind: `${d.kind}List`,
        plural: d.plural,
        singular: d.singular,
        ...(d.shortNames ? { shortNames: [...d.shortNames] } : {}),
      },
      scope: d.scope,
      versions: d.versions.map((v) => ({
        name: v.name,
        served: true,
        storage: !!v.storage,
        ...(v.deprecated ? { deprecated: true } : {}),
        ...(v.columns ? { additionalPrinterColumns: structuredClone(v.columns) } : {}),
        schema: { openAPIV3Schema: structuredClone(v.schema) },
        ...(v.status ? { subresources: { status: {} } } : {}),
      })),
      conversion: { strategy: 'None' },
    },
  }));
}
