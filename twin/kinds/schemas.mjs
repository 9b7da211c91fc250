// @ts-check
// Known fields, for strict field validation (`fieldValidation=Strict` rejects
// unknown fields; Warn/Ignore drop them, as decoding into Go structs does) and
// for pruning custom resources by their CRD's structural schema.
//
// Built-in kinds: a compact schema of the fields in use. A schema is
//   ANY             anything goes below this point
//   { field: s }    an object with exactly these fields
//   [s]             a list whose items follow s
// Custom resources: the CRD's openAPIV3Schema.

export const ANY = true;

/** @typedef {true | { [field: string]: any } | any[]} Shape true (ANY), an object of field shapes, or [item shape] */

/** @type {Shape} */
const OBJECT_META = {
  name: ANY, generateName: ANY, namespace: ANY, selfLink: ANY, uid: ANY, resourceVersion: ANY, generation: ANY,
  creationTimestamp: ANY, deletionTimestamp: ANY, deletionGracePeriodSeconds: ANY, labels: ANY, annotations: ANY,
  ownerReferences: [{ apiVersion: ANY, kind: ANY, name: ANY, uid: ANY, controller: ANY, blockOwnerDeletion: ANY }],
  finalizers: ANY, managedFields: ANY,
};

const LABEL_SELECTOR = { matchLabels: ANY, matchExpressions: [{ key: ANY, operator: ANY, values: ANY }] };

/** @type {Shape} */
const CONTAINER = {
  name: ANY, image: ANY, command: ANY, args: ANY, workingDir: ANY,
  ports: [{ name: ANY, hostPort: ANY, containerPort: ANY, protocol: ANY, hostIP: ANY }],
  envFrom: ANY, env: [{ name: ANY, value: ANY, valueFrom: ANY }], resources: ANY, resizePolicy: ANY, restartPolicy: ANY,
  volumeMounts: [{ name: ANY, readOnly: ANY, recursiveReadOnly: ANY, mountPath: ANY, subPath: ANY, mountPropagation: ANY, subPathExpr: ANY }],
  volumeDevices: ANY, livenessProbe: ANY, readinessProbe: ANY, startupProbe: ANY, lifecycle: ANY,
  terminationMessagePath: ANY, terminationMessagePolicy: ANY, imagePullPolicy: ANY, securityContext: ANY,
  stdin: ANY, stdinOnce: ANY, tty: ANY,
};

/** @type {Shape} */
const POD_SPEC = {
  volumes: ANY, initContainers: [CONTAINER], containers: [CONTAINER], ephemeralContainers: ANY, restartPolicy: ANY,
  terminationGracePeriodSeconds: ANY, activeDeadlineSeconds: ANY, dnsPolicy: ANY, nodeSelector: ANY,
  serviceAccountName: ANY, serviceAccount: ANY, automountServiceAccountToken: ANY, nodeName: ANY, hostNetwork: ANY,
  hostPID: ANY, hostIPC: ANY, shareProcessNamespace: ANY, securityContext: ANY, imagePullSecrets: ANY, hostname: ANY,
  subdomain: ANY, affinity: ANY, schedulerName: ANY, tolerations: ANY, hostAliases: ANY, priorityClassName: ANY,
  priority: ANY, dnsConfig: ANY, readinessGates: ANY, runtimeClassName: ANY, enableServiceLinks: ANY,
  preemptionPolicy: ANY, overhead: ANY, topologySpreadConstraints: ANY, setHostnameAsFQDN: ANY, os: ANY,
  hostUsers: ANY, schedulingGates: ANY, resourceClaims: ANY, resources: ANY,
};

const TEMPLATE = { metadata: OBJECT_META, spec: POD_SPEC };

/** @type {Shape} */
const JOB_SPEC = {
  parallelism: ANY, completions: ANY, activeDeadlineSeconds: ANY, podFailurePolicy: ANY, successPolicy: ANY,
  backoffLimit: ANY, backoffLimitPerIndex: ANY, maxFailedIndexes: ANY, selector: LABEL_SELECTOR, manualSelector: ANY,
  template: TEMPLATE, ttlSecondsAfterFinished: ANY, completionMode: ANY, suspend: ANY, podReplacementPolicy: ANY, managedBy: ANY,
};

/** @param {Record<string, Shape>} fields @returns {Shape} */
const top = (fields) => ({ apiVersion: ANY, kind: ANY, metadata: OBJECT_META, ...fields });

/** @type {Record<string, Shape>} by "group/Kind" */
export const BUILTIN_SCHEMAS = {
  '/ConfigMap': top({ data: ANY, binaryData: ANY, immutable: ANY }),
  '/Secret': top({ data: ANY, stringData: ANY, type: ANY, immutable: ANY }),
  '/Namespace': top({ spec: { finalizers: ANY }, status: ANY }),
  '/Node': top({ spec: ANY, status: ANY }),
  '/Pod': top({ spec: POD_SPEC, status: ANY }),
  '/ServiceAccount': top({ secrets: ANY, imagePullSecrets: ANY, automountServiceAccountToken: ANY }),
  '/Endpoints': top({ subsets: ANY }),
  '/Event': top({
    involvedObject: ANY, reason: ANY, message: ANY, source: ANY, firstTimestamp: ANY, lastTimestamp: ANY, count: ANY,
    type: ANY, eventTime: ANY, series: ANY, action: ANY, related: ANY, reportingComponent: ANY, reportingInstance: ANY,
  }),
  '/Service': top({
    spec: {
      ports: [{ name: ANY, protocol: ANY, appProtocol: ANY, port: ANY, targetPort: ANY, nodePort: ANY }],
      selector: ANY, clusterIP: ANY, clusterIPs: ANY, type: ANY, externalIPs: ANY, sessionAffinity: ANY,
      loadBalancerIP: ANY, loadBalancerSourceRanges: ANY, externalName: ANY, externalTrafficPolicy: ANY,
      healthCheckNodePort: ANY, publishNotReadyAddresses: ANY, sessionAffinityConfig: ANY, ipFamilies: ANY,
      ipFamilyPolicy: ANY, allocateLoadBalancerNodePorts: ANY, loadBalancerClass: ANY, internalTrafficPolicy: ANY,
      trafficDistribution: ANY,
    },
    status: ANY,
  }),
  'apps/Deployment': top({
    spec: {
      replicas: ANY, selector: LABEL_SELECTOR, template: TEMPLATE,
      strategy: { type: ANY, rollingUpdate: { maxUnavailable: ANY, maxSurge: ANY } },
      minReadySeconds: ANY, revisionHistoryLimit: ANY, paused: ANY, progressDeadlineSeconds: ANY,
    },
    status: ANY,
  }),
  'apps/DaemonSet': top({
    spec: {
      selector: LABEL_SELECTOR, template: TEMPLATE,
      updateStrategy: { type: ANY, rollingUpdate: { maxUnavailable: ANY, maxSurge: ANY } },
      minReadySeconds: ANY, revisionHistoryLimit: ANY,
    },
    status: ANY,
  }),
  'apps/ReplicaSet': top({ spec: { replicas: ANY, minReadySeconds: ANY, selector: LABEL_SELECTOR, template: TEMPLATE }, status: ANY }),
  '/ResourceQuota': top({ spec: { hard: ANY, scopes: ANY, scopeSelector: ANY }, status: ANY }),
  'batch/Job': top({ spec: JOB_SPEC, status: ANY }),
  'batch/CronJob': top({
    spec: {
      schedule: ANY, timeZone: ANY, startingDeadlineSeconds: ANY, concurrencyPolicy: ANY, suspend: ANY,
      jobTemplate: { metadata: OBJECT_META, spec: JOB_SPEC }, successfulJobsHistoryLimit: ANY, failedJobsHistoryLimit: ANY,
    },
    status: ANY,
  }),
  'policy/PodDisruptionBudget': top({
    spec: { minAvailable: ANY, maxUnavailable: ANY, selector: LABEL_SELECTOR, unhealthyPodEvictionPolicy: ANY },
    status: ANY,
  }),
  'networking.k8s.io/IngressClass': top({ spec: { controller: ANY, parameters: ANY } }),
  'apiextensions.k8s.io/CustomResourceDefinition': top({
    spec: { group: ANY, names: ANY, scope: ANY, versions: ANY, conversion: ANY, preserveUnknownFields: ANY },
    status: ANY,
  }),
  'coordination.k8s.io/Lease': top({
    spec: {
      holderIdentity: ANY, leaseDurationSeconds: ANY, acquireTime: ANY, renewTime: ANY, leaseTransitions: ANY,
      strategy: ANY, preferredHolder: ANY,
    },
  }),
  'discovery.k8s.io/EndpointSlice': top({ addressType: ANY, endpoints: ANY, ports: ANY }),
  'rbac.authorization.k8s.io/ClusterRole': top({ rules: ANY, aggregationRule: ANY }),
  'rbac.authorization.k8s.io/Role': top({ rules: ANY }),
  'rbac.authorization.k8s.io/ClusterRoleBinding': top({ subjects: ANY, roleRef: ANY }),
  'rbac.authorization.k8s.io/RoleBinding': top({ subjects: ANY, roleRef: ANY }),
};

/** @param {unknown} v @returns {v is Record<string, any>} */
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Finds fields the shape does not know and, with `prune`, removes them.
 * @param {Shape} shape
 * @param {unknown} value
 * @param {{ prune?: boolean }} [opts]
 * @returns {string[]} paths like "spec.template.spec.containers[0].foo"
 */
export function unknownBuiltinFields(shape, value, opts = {}) {
  /** @type {string[]} */
  const out = [];
  /** @param {Shape} s @param {unknown} v @param {string} path */
  const walk = (s, v, path) => {
    if (s === ANY || v === null || v === undefined) return;
    if (Array.isArray(s)) {
      if (Array.isArray(v)) v.forEach((item, i) => walk(s[0], item, `${path}[${i}]`));
      return;
    }
    if (!isObj(v)) return;
    for (const k of Object.keys(v)) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in s)) {
        out.push(p);
        if (opts.prune) delete v[k];
      } else {
        walk(s[k], v[k], p);
      }
    }
  };
  walk(shape, value, '');
  return out;
}

/**
 * Unknown fields of a custom resource by its version's openAPIV3Schema (structural
 * pruning: fields not specified are unknown unless x-kubernetes-preserve-unknown-fields).
 * @param {any} schema openAPIV3Schema (may be undefined: then everything is kept)
 * @param {unknown} value
 * @param {{ prune?: boolean }} [opts]
 * @returns {string[]}
 */
export function unknownCrFields(schema, value, opts = {}) {
  /** @type {string[]} */
  const out = [];
  if (!isObj(schema)) return out;
  /** @param {any} s @param {unknown} v @param {string} path @param {boolean} isRoot */
  const walk = (s, v, path, isRoot) => {
    if (!isObj(s) || v === null || v === undefined) return;
    if (Array.isArray(v)) {
      if (s.items) v.forEach((item, i) => walk(s.items, item, `${path}[${i}]`, false));
      return;
    }
    if (!isObj(v)) return;
    const embedded = isRoot || s['x-kubernetes-embedded-resource'] === true;
    const props = isObj(s.properties) ? s.properties : {};
    const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
    for (const k of Object.keys(v)) {
      const p = path ? `${path}.${k}` : k;
      if (embedded && (k === 'apiVersion' || k === 'kind')) continue;
      if (embedded && k === 'metadata') {
        if (isRoot) out.push(...unknownBuiltinFields(OBJECT_META, v[k], opts).map((f) => `metadata.${f}`));
        continue;
      }
      if (k in props) walk(props[k], v[k], p, false);
      else if (isObj(s.additionalProperties)) walk(s.additionalProperties, v[k], p, false);
      else if (s.additionalProperties === true || preserve) continue;
      else {
        out.push(p);
        if (opts.prune) delete v[k];
      }
    }
  };
  walk(schema, value, '', true);
  return out;
}

/**
 * The openAPIV3Schema of one served version of a CRD.
 * @param {any} crd @param {string} version
 */
export function crdVersionSchema(crd, version) {
  const v = (crd?.spec?.versions ?? []).find((/** @type {any} */ x) => x.name === version);
  return v?.schema?.openAPIV3Schema;
}
