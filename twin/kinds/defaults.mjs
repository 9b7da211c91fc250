// @ts-check
// Defaulting the API server applies before storing, as far as kubectl and the
// runbook rely on it (rollout status needs a Deployment's strategy and a
// DaemonSet's updateStrategy; apply's 3-way merge sees defaulted fields).
// Mirrors pkg/apis/*/v1/defaults.go of Kubernetes for the fields covered.

import { randomUUID } from 'node:crypto';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */

/** @param {any} o @param {string} k @param {any} v */
function def(o, k, v) {
  if (o[k] === undefined || o[k] === null) o[k] = v;
}

/** @param {string} image */
function pullPolicy(image) {
  const noDigest = !image.includes('@');
  const lastPart = image.split('/').pop() ?? '';
  const tag = lastPart.includes(':') ? lastPart.split(':').pop() : '';
  return noDigest && (!tag || tag === 'latest') ? 'Always' : 'IfNotPresent';
}

/** @param {any} probe */
function probeDefaults(probe) {
  if (!probe || typeof probe !== 'object') return;
  def(probe, 'timeoutSeconds', 1);
  def(probe, 'periodSeconds', 10);
  def(probe, 'successThreshold', 1);
  def(probe, 'failureThreshold', 3);
  if (probe.httpGet) def(probe.httpGet, 'scheme', 'HTTP');
}

/** @param {any} c */
function containerDefaults(c) {
  if (!c || typeof c !== 'object') return;
  if (typeof c.image === 'string') def(c, 'imagePullPolicy', pullPolicy(c.image));
  def(c, 'terminationMessagePath', '/dev/termination-log');
  def(c, 'terminationMessagePolicy', 'File');
  def(c, 'resources', {});
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (p && typeof p === 'object') def(p, 'protocol', 'TCP');
  for (const e of Array.isArray(c.env) ? c.env : []) {
    if (e?.valueFrom?.fieldRef) def(e.valueFrom.fieldRef, 'apiVersion', 'v1');
  }
  probeDefaults(c.livenessProbe);
  probeDefaults(c.readinessProbe);
  probeDefaults(c.startupProbe);
}

/** @param {any} spec a PodSpec */
export function podSpecDefaults(spec) {
  if (!spec || typeof spec !== 'object') return;
  def(spec, 'restartPolicy', 'Always');
  def(spec, 'terminationGracePeriodSeconds', 30);
  def(spec, 'dnsPolicy', 'ClusterFirst');
  def(spec, 'securityContext', {});
  def(spec, 'schedulerName', 'default-scheduler');
  for (const list of [spec.containers, spec.initContainers]) {
    for (const c of Array.isArray(list) ? list : []) containerDefaults(c);
  }
  // v1 shows the account in the deprecated field too (conversion, not defaulting).
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  // Plain bools with omitempty: a false one is not stored, so not shown.
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[k] === false) delete spec[k];
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (v?.configMap) def(v.configMap, 'defaultMode', 420);
    if (v?.secret) def(v.secret, 'defaultMode', 420);
  }
}

/** @param {any} spec a spec with a pod template */
function templateDefaults(spec) {
  if (spec?.template && typeof spec.template === 'object') {
    def(spec.template, 'metadata', {});
    // An unset metav1.Time is serialized as null, not left out.
    def(spec.template.metadata, 'creationTimestamp', null);
    podSpecDefaults(spec.template.spec);
  }
}

/** A Job spec's defaults (batch/v1 SetDefaults_Job, without the selector). @param {any} s */
function jobSpecDefaults(s) {
  if (s.completions === undefined && s.parallelism === undefined) s.completions = 1;
  def(s, 'parallelism', 1);
  def(s, 'backoffLimit', s.backoffLimitPerIndex === undefined ? 6 : 2147483647);
  def(s, 'completionMode', 'NonIndexed');
  def(s, 'suspend', false);
  if (!s.podFailurePolicy) def(s, 'podReplacementPolicy', 'TerminatingOrFailed');
  templateDefaults(s);
}

/**
 * The selector the Job registry generates (unless manualSelector): the Job's
 * uid as a label of its pods. The uid is chosen here on create, and the store
 * keeps it, so that selector and metadata.uid agree.
 * @param {any} o a Job
 */
function jobSelector(o) {
  const s = o.spec;
  if (s.manualSelector === true || s.selector) return;
  o.metadata.uid ||= randomUUID();
  const uid = o.metadata.uid;
  const name = String(o.metadata.name ?? '');
  s.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  def(s, 'template', {});
  def(s.template, 'metadata', {});
  /** @type {Record<string, string>} */
  const extra = { 'batch.kubernetes.io/controller-uid': uid, 'controller-uid': uid };
  if (name.length <= 63) Object.assign(extra, { 'batch.kubernetes.io/job-name': name, 'job-name': name });
  s.template.metadata.labels = { ...(s.template.metadata.labels ?? {}), ...extra };
}

/** @type {Record<string, (o: any) => void>} kind -> defaulter, by "group/Kind" */
const DEFAULTERS = {
  'apps/Deployment': (o) => {
    def(o, 'spec', {});
    const s = o.spec;
    def(s, 'replicas', 1);
    def(s, 'strategy', {});
    def(s.strategy, 'type', 'RollingUpdate');
    if (s.strategy.type === 'RollingUpdate') {
      def(s.strategy, 'rollingUpdate', {});
      def(s.strategy.rollingUpdate, 'maxUnavailable', '25%');
      def(s.strategy.rollingUpdate, 'maxSurge', '25%');
    }
    def(s, 'revisionHistoryLimit', 10);
    def(s, 'progressDeadlineSeconds', 600);
    templateDefaults(s);
  },
  'apps/DaemonSet': (o) => {
    def(o, 'spec', {});
    const s = o.spec;
    def(s, 'updateStrategy', {});
    def(s.updateStrategy, 'type', 'RollingUpdate');
    if (s.updateStrategy.type === 'RollingUpdate') {
      def(s.updateStrategy, 'rollingUpdate', {});
      def(s.updateStrategy.rollingUpdate, 'maxUnavailable', 1);
      def(s.updateStrategy.rollingUpdate, 'maxSurge', 0);
    }
    def(s, 'revisionHistoryLimit', 10);
    templateDefaults(s);
  },
  'apps/ReplicaSet': (o) => {
    def(o, 'spec', {});
    def(o.spec, 'replicas', 1);
    templateDefaults(o.spec);
  },
  'batch/Job': (o) => {
    def(o, 'spec', {});
    jobSpecDefaults(o.spec);
    def(o.spec, 'manualSelector', false);
    jobSelector(o);
  },
  'batch/CronJob': (o) => {
    def(o, 'spec', {});
    const s = o.spec;
    def(s, 'concurrencyPolicy', 'Allow');
    def(s, 'suspend', false);
    def(s, 'successfulJobsHistoryLimit', 3);
    def(s, 'failedJobsHistoryLimit', 1);
    def(s, 'jobTemplate', {});
    def(s.jobTemplate, 'metadata', {});
    def(s.jobTemplate.metadata, 'creationTimestamp', null);
    def(s.jobTemplate, 'spec', {});
    // A Job's own defaults apply when the Job is made, not to the template: only its pod template's here.
    templateDefaults(s.jobTemplate.spec);
  },
  '/Pod': (o) => {
    def(o, 'spec', {});
    podSpecDefaults(o.spec);
    def(o.spec, 'enableServiceLinks', true);
    def(o.spec, 'priority', 0);
    def(o.spec, 'preemptionPolicy', 'PreemptLowerPriority');
    def(o.spec, 'serviceAccountName', o.spec.serviceAccount ?? 'default');
    def(o.spec, 'serviceAccount', o.spec.serviceAccountName);
  },
  '/Service': (o) => {
    def(o, 'spec', {});
    const s = o.spec;
    def(s, 'type', 'ClusterIP');
    if (s.type !== 'ExternalName') {
      def(s, 'sessionAffinity', 'None');
      def(s, 'internalTrafficPolicy', 'Cluster');
    }
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') def(s, 'externalTrafficPolicy', 'Cluster');
    if (s.type === 'LoadBalancer') def(s, 'allocateLoadBalancerNodePorts', true);
    for (const p of Array.isArray(s.ports) ? s.ports : []) {
      if (!p || typeof p !== 'object') continue;
      def(p, 'protocol', 'TCP');
      if (s.type !== 'ExternalName') def(p, 'targetPort', p.port);
    }
    def(o, 'status', {});
    def(o.status, 'loadBalancer', {});
  },
  '/Secret': (o) => {
    def(o, 'type', 'Opaque');
    if (o.stringData && typeof o.stringData === 'object') {
      o.data = { ...(o.data ?? {}) };
      for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(String(v)).toString('base64');
      delete o.stringData;
    }
  },
  '/Namespace': (o) => {
    o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
    def(o, 'spec', {});
    def(o.spec, 'finalizers', ['kubernetes']);
    def(o, 'status', {});
    def(o.status, 'phase', 'Active');
  },
  'apiextensions.k8s.io/CustomResourceDefinition': (o) => {
    def(o, 'spec', {});
    def(o.spec, 'conversion', { strategy: 'None' });
    const names = o.spec.names;
    if (names && typeof names === 'object') {
      if (names.kind) def(names, 'listKind', `${names.kind}List`);
      if (names.kind) def(names, 'singular', String(names.kind).toLowerCase());
    }
  },
};

/**
 * Applies the defaults of the object's kind in place.
 * @param {string} group @param {string} kind @param {KubeObject} obj
 */
export function applyDefaults(group, kind, obj) {
  DEFAULTERS[`${group}/${kind}`]?.(obj);
}

/**
 * Structural-schema defaulting of a custom resource: a property with a `default`
 * that is absent from an object present in the data gets the default.
 * @param {any} schema openAPIV3Schema
 * @param {any} obj
 */
export function applySchemaDefaults(schema, obj) {
  /** @param {any} s @param {any} v */
  const walk = (s, v) => {
    if (!s || typeof s !== 'object' || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      if (s.items) for (const item of v) walk(s.items, item);
      return;
    }
    for (const [k, ps] of Object.entries(s.properties ?? {})) {
      const p = /** @type {any} */ (ps);
      if (v[k] === undefined && p && p.default !== undefined) v[k] = structuredClone(p.default);
      if (v[k] !== undefined) walk(p, v[k]);
    }
    if (s.additionalProperties && typeof s.additionalProperties === 'object') {
      for (const [k, x] of Object.entries(v)) if (!(s.properties ?? {})[k]) walk(s.additionalProperties, x);
    }
  };
  walk(schema, obj);
}
