// @ts-check
// Validation honest enough for the runbook: names, the required fields and
// invariants a real server checks for the kinds in use, and a custom resource's
// openAPIV3Schema (types, required, enum, bounds, patterns). Messages follow
// k8s.io/apimachinery/pkg/util/validation and kube-openapi's validator.
import { goValue } from './errors.mjs';

/** @typedef {import('./errors.mjs').FieldError} FieldError */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const MSG_1123_LABEL = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const MSG_1123_SUBDOMAIN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const MSG_1035_LABEL = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/**
 * @param {string} name
 * @param {'label'|'subdomain'|'1035'} rule
 * @param {string} field
 * @returns {FieldError[]}
 */
export function validateName(name, rule, field = 'metadata.name') {
  if (!name) return [{ type: 'Required', field, detail: 'name or generateName is required' }];
  /** @type {FieldError[]} */
  const errs = [];
  if (rule === 'subdomain') {
    if (name.length > 253) errs.push({ type: 'Invalid', field, value: name, detail: 'must be no more than 253 characters' });
    if (!DNS1123_SUBDOMAIN.test(name)) errs.push({ type: 'Invalid', field, value: name, detail: MSG_1123_SUBDOMAIN });
  } else {
    if (name.length > 63) errs.push({ type: 'Invalid', field, value: name, detail: 'must be no more than 63 characters' });
    const ok = rule === 'label' ? DNS1123_LABEL : DNS1035_LABEL;
    if (!ok.test(name)) errs.push({ type: 'Invalid', field, value: name, detail: rule === 'label' ? MSG_1123_LABEL : MSG_1035_LABEL });
  }
  return errs;
}

/** Which name rule a kind's metadata.name follows. @type {Record<string, 'label'|'1035'>} */
const NAME_RULES = { '/Namespace': 'label', '/Service': '1035' };

/**
 * @param {Record<string, string> | undefined} labels
 * @param {any} selector LabelSelector
 */
export function selectorMatchesLabels(selector, labels = {}) {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const vals = e.values ?? [];
    if (e.operator === 'In' && !(has && vals.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && vals.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** @param {any} sel */
function goSelector(sel) {
  const ml = sel?.matchLabels ? goValue(sel.matchLabels) : 'map[string]string(nil)';
  return `v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`;
}

/** @param {any} spec @param {string} path @returns {FieldError[]} */
function validatePodSpec(spec, path) {
  /** @type {FieldError[]} */
  const errs = [];
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errs.push({ type: 'Required', field: `${path}.containers` });
    return errs;
  }
  /** @type {Set<string>} */
  const names = new Set();
  containers.forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    if (!c?.name) errs.push({ type: 'Required', field: `${p}.name` });
    else {
      errs.push(...validateName(c.name, 'label', `${p}.name`));
      if (names.has(c.name)) errs.push({ type: 'Duplicate', field: `${p}.name`, value: c.name });
      names.add(c.name);
    }
    if (!c?.image) errs.push({ type: 'Required', field: `${p}.image` });
    (Array.isArray(c?.ports) ? c.ports : []).forEach((/** @type {any} */ port, /** @type {number} */ j) => {
      const n = port?.containerPort;
      if (typeof n !== 'number' || n < 1 || n > 65535) {
        errs.push({ type: n === undefined ? 'Required' : 'Invalid', field: `${p}.ports[${j}].containerPort`, value: n, detail: n === undefined ? undefined : 'must be between 1 and 65535, inclusive' });
      }
    });
  });
  return errs;
}

/** @param {any} obj @param {any} old @param {boolean} hasReplicas @returns {FieldError[]} */
function validateWorkload(obj, old, hasReplicas) {
  /** @type {FieldError[]} */
  const errs = [];
  const spec = obj.spec ?? {};
  if (hasReplicas && typeof spec.replicas === 'number' && spec.replicas < 0) {
    errs.push({ type: 'Invalid', field: 'spec.replicas', value: spec.replicas, detail: 'must be greater than or equal to 0' });
  }
  const sel = spec.selector;
  const empty = !sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length);
  if (!sel) errs.push({ type: 'Required', field: 'spec.selector' });
  else if (empty) errs.push({ type: 'Invalid', field: 'spec.selector', rendered: goSelector(sel), detail: 'empty selector is invalid for deployment' });
  const labels = spec.template?.metadata?.labels;
  if (sel && !empty && !selectorMatchesLabels(sel, labels)) {
    errs.push({ type: 'Invalid', field: 'spec.template.metadata.labels', value: labels ?? {}, detail: '`selector` does not match template `labels`' });
  }
  errs.push(...validatePodSpec(spec.template?.spec, 'spec.template.spec'));
  if (old && sel && JSON.stringify(old.spec?.selector) !== JSON.stringify(sel)) {
    errs.push({ type: 'Invalid', field: 'spec.selector', rendered: goSelector(sel), detail: 'field is immutable' });
  }
  return errs;
}

/**
 * A Job spec (batch validation.ValidateJobSpec, the parts a chart can get wrong).
 * @param {any} spec @param {string} path @param {boolean} needSelector
 * @returns {FieldError[]}
 */
function validateJobSpec(spec, path, needSelector) {
  /** @type {FieldError[]} */
  const errs = [];
  for (const f of ['parallelism', 'completions', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']) {
    const n = spec?.[f];
    if (typeof n === 'number' && n < (f === 'activeDeadlineSeconds' ? 1 : 0)) {
      errs.push({ type: 'Invalid', field: `${path}.${f}`, value: n, detail: `must be greater than or equal to ${f === 'activeDeadlineSeconds' ? 1 : 0}` });
    }
  }
  const sel = spec?.selector;
  if (needSelector && !sel) errs.push({ type: 'Required', field: `${path}.selector` });
  else if (sel && !selectorMatchesLabels(sel, spec?.template?.metadata?.labels)) {
    errs.push({ type: 'Invalid', field: `${path}.template.metadata.labels`, value: spec?.template?.metadata?.labels ?? {}, detail: '`selector` does not match template `labels`' });
  }
  const podSpec = spec?.template?.spec;
  errs.push(...validatePodSpec(podSpec, `${path}.template.spec`));
  const rp = podSpec?.restartPolicy;
  if (rp !== 'OnFailure' && rp !== 'Never') {
    errs.push({ type: 'NotSupported', field: `${path}.template.spec.restartPolicy`, value: rp ?? '', detail: 'supported values: "OnFailure", "Never"' });
  }
  return errs;
}

/** Five cron fields, or a predefined schedule (robfig/cron's standard parser). */
const CRON = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every \S+|(TZ=\S+ |CRON_TZ=\S+ )?\S+ \S+ \S+ \S+ \S+)$/;

/** @param {any} obj @param {any} old @returns {FieldError[]} */
function validateJob(obj, old) {
  const errs = validateJobSpec(obj.spec ?? {}, 'spec', true);
  if (old) {
    for (const f of ['selector', 'template', 'completions', 'completionMode']) {
      if (f === 'completions' && obj.spec?.completionMode !== 'Indexed') continue; // mutable with parallelism then
      if (JSON.stringify(old.spec?.[f]) !== JSON.stringify(obj.spec?.[f])) {
        errs.push({ type: 'Invalid', field: `spec.${f}`, rendered: f === 'template' ? 'core.PodTemplateSpec{...}' : goValue(obj.spec?.[f]), detail: 'field is immutable' });
      }
    }
  }
  return errs;
}

/** @param {any} obj @returns {FieldError[]} */
function validateCronJob(obj) {
  /** @type {FieldError[]} */
  const errs = [];
  const spec = obj.spec ?? {};
  if (!spec.schedule) errs.push({ type: 'Required', field: 'spec.schedule' });
  else if (!CRON.test(String(spec.schedule).trim())) {
    errs.push({ type: 'Invalid', field: 'spec.schedule', value: spec.schedule, detail: `expected exactly 5 fields, found ${String(spec.schedule).trim().split(/\s+/).length}: ${spec.schedule}` });
  }
  if (spec.concurrencyPolicy && !['Allow', 'Forbid', 'Replace'].includes(spec.concurrencyPolicy)) {
    errs.push({ type: 'NotSupported', field: 'spec.concurrencyPolicy', value: spec.concurrencyPolicy, detail: 'supported values: "Allow", "Forbid", "Replace"' });
  }
  if (String(obj.metadata?.name ?? '').length > 52) {
    errs.push({ type: 'Invalid', field: 'metadata.name', value: obj.metadata.name, detail: 'must be no more than 52 characters' });
  }
  errs.push(...validateJobSpec(spec.jobTemplate?.spec ?? {}, 'spec.jobTemplate.spec', false));
  return errs;
}

/** @param {any} obj @returns {FieldError[]} */
function validatePdb(obj) {
  const spec = obj.spec ?? {};
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    return [{ type: 'Invalid', field: 'spec', rendered: 'policy.PodDisruptionBudgetSpec{...}', detail: 'minAvailable and maxUnavailable cannot be both set' }];
  }
  return [];
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

/** @param {any} obj @returns {FieldError[]} */
function validateService(obj) {
  /** @type {FieldError[]} */
  const errs = [];
  const spec = obj.spec ?? {};
  if (!SERVICE_TYPES.includes(spec.type)) {
    errs.push({ type: 'NotSupported', field: 'spec.type', value: spec.type, detail: `supported values: ${SERVICE_TYPES.map((t) => `"${t}"`).join(', ')}` });
  }
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  if (ports.length === 0 && spec.type !== 'ExternalName' && spec.clusterIP !== 'None') errs.push({ type: 'Required', field: 'spec.ports' });
  /** @type {Set<string>} */
  const seen = new Set();
  ports.forEach((/** @type {any} */ p, /** @type {number} */ i) => {
    if (ports.length > 1 && !p?.name) errs.push({ type: 'Required', field: `spec.ports[${i}].name` });
    if (p?.name && seen.has(p.name)) errs.push({ type: 'Duplicate', field: `spec.ports[${i}].name`, value: p.name });
    if (p?.name) seen.add(p.name);
    const n = p?.port;
    if (typeof n !== 'number' || n < 1 || n > 65535) {
      errs.push({ type: 'Invalid', field: `spec.ports[${i}].port`, value: n ?? 0, detail: 'must be between 1 and 65535, inclusive' });
    }
    if (p?.protocol && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) {
      errs.push({ type: 'NotSupported', field: `spec.ports[${i}].protocol`, value: p.protocol, detail: 'supported values: "SCTP", "TCP", "UDP"' });
    }
  });
  if (spec.type === 'ExternalName' && !spec.externalName) errs.push({ type: 'Required', field: 'spec.externalName' });
  return errs;
}

/** @param {any} obj @returns {FieldError[]} */
function validateCrd(obj) {
  /** @type {FieldError[]} */
  const errs = [];
  const spec = obj.spec ?? {};
  if (!spec.group) errs.push({ type: 'Required', field: 'spec.group' });
  if (!spec.names?.plural) errs.push({ type: 'Required', field: 'spec.names.plural' });
  if (!spec.names?.kind) errs.push({ type: 'Required', field: 'spec.names.kind' });
  if (!['Cluster', 'Namespaced'].includes(spec.scope)) {
    errs.push({ type: 'NotSupported', field: 'spec.scope', value: spec.scope ?? '', detail: 'supported values: "Cluster", "Namespaced"' });
  }
  if (spec.group && spec.names?.plural && obj.metadata.name !== `${spec.names.plural}.${spec.group}`) {
    errs.push({ type: 'Invalid', field: 'metadata.name', value: obj.metadata.name, detail: 'must be spec.names.plural+"."+spec.group' });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) errs.push({ type: 'Required', field: 'spec.versions', detail: 'must have exactly one version marked as storage version' });
  else if (versions.filter((/** @type {any} */ v) => v.storage).length !== 1) {
    errs.push({ type: 'Invalid', field: 'spec.versions', value: versions.map((/** @type {any} */ v) => v.name), detail: 'must have exactly one version marked as storage version' });
  }
  return errs;
}

/**
 * Validates a built-in object (create when `old` is undefined, else update).
 * @param {string} group @param {string} kind @param {boolean} namespaced
 * @param {any} obj @param {any} [old]
 * @returns {FieldError[]}
 */
export function validateBuiltin(group, kind, namespaced, obj, old) {
  const gk = `${group}/${kind}`;
  const errs = validateName(obj.metadata?.name ?? '', NAME_RULES[gk] ?? 'subdomain');
  if (namespaced && !obj.metadata?.namespace) errs.push({ type: 'Required', field: 'metadata.namespace' });
  switch (gk) {
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
      errs.push(...validateWorkload(obj, old, true));
      break;
    case 'apps/DaemonSet':
      errs.push(...validateWorkload(obj, old, false));
      break;
    case '/Pod':
      errs.push(...validatePodSpec(obj.spec, 'spec'));
      break;
    case '/Service':
      errs.push(...validateService(obj));
      break;
    case 'apiextensions.k8s.io/CustomResourceDefinition':
      errs.push(...validateCrd(obj));
      break;
    case 'batch/Job':
      errs.push(...validateJob(obj, old));
      break;
    case 'batch/CronJob':
      errs.push(...validateCronJob(obj));
      break;
    case 'policy/PodDisruptionBudget':
      errs.push(...validatePdb(obj));
      break;
  }
  return errs;
}

const TYPE_OK = {
  /** @param {unknown} v */ object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  /** @param {unknown} v */ array: (v) => Array.isArray(v),
  /** @param {unknown} v */ string: (v) => typeof v === 'string',
  /** @param {unknown} v */ integer: (v) => Number.isInteger(v),
  /** @param {unknown} v */ number: (v) => typeof v === 'number',
  /** @param {unknown} v */ boolean: (v) => typeof v === 'boolean',
};

/** @param {unknown} v */
function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

/**
 * Validates a custom resource against its openAPIV3Schema.
 * @param {any} schema
 * @param {any} obj
 * @returns {FieldError[]}
 */
export function validateCr(schema, obj) {
  /** @type {FieldError[]} */
  const errs = validateName(obj.metadata?.name ?? '', 'subdomain');
  if (!schema || typeof schema !== 'object') return errs;
  /** @param {any} s @param {unknown} v @param {string} path */
  const walk = (s, v, path) => {
    if (!s || typeof s !== 'object') return;
    if (v === null || v === undefined) {
      if (v === null && !s.nullable && s.type && path) errs.push({ type: 'Invalid', field: path, value: 'null', detail: `${path} in body must be of type ${s.type}: "null"` });
      return;
    }
    if (s['x-kubernetes-int-or-string']) {
      if (typeof v !== 'string' && !Number.isInteger(v)) errs.push({ type: 'Invalid', field: path, value: jsonType(v), detail: `${path} in body must be of type integer,string: "${jsonType(v)}"` });
      return;
    }
    const t = /** @type {keyof typeof TYPE_OK | undefined} */ (s.type);
    if (t && TYPE_OK[t] && !TYPE_OK[t](v)) {
      errs.push({ type: 'Invalid', field: path, value: jsonType(v), detail: `${path} in body must be of type ${t}: "${jsonType(v)}"` });
      return;
    }
    if (Array.isArray(s.enum) && s.enum.length && !s.enum.some((/** @type {unknown} */ e) => JSON.stringify(e) === JSON.stringify(v))) {
      errs.push({ type: 'NotSupported', field: path, value: v, detail: `supported values: ${s.enum.map((/** @type {unknown} */ e) => JSON.stringify(e)).join(', ')}` });
    }
    if (typeof v === 'string') {
      if (typeof s.maxLength === 'number' && v.length > s.maxLength) errs.push({ type: 'TooLong', field: path, value: v, detail: `may not be more than ${s.maxLength} bytes` });
      if (typeof s.minLength === 'number' && v.length < s.minLength) errs.push({ type: 'Invalid', field: path, value: v, detail: `${path} in body should be at least ${s.minLength} chars long` });
      if (typeof s.pattern === 'string') {
        let re;
        try { re = new RegExp(s.pattern, 'u'); } catch { re = undefined; }
        if (re && !re.test(v)) errs.push({ type: 'Invalid', field: path, value: v, detail: `${path} in body should match '${s.pattern}'` });
      }
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) errs.push({ type: 'Invalid', field: path, value: v, detail: `${path} in body should be greater than or equal to ${s.minimum}` });
      if (typeof s.maximum === 'number' && v > s.maximum) errs.push({ type: 'Invalid', field: path, value: v, detail: `${path} in body should be less than or equal to ${s.maximum}` });
    }
    if (Array.isArray(v)) {
      if (typeof s.maxItems === 'number' && v.length > s.maxItems) errs.push({ type: 'TooLong', field: path, value: v, detail: `must have at most ${s.maxItems} items` });
      if (typeof s.minItems === 'number' && v.length < s.minItems) errs.push({ type: 'Invalid', field: path, value: v.length, detail: `${path} in body should have at least ${s.minItems} items` });
      if (s.items) v.forEach((item, i) => walk(s.items, item, `${path}[${i}]`));
      return;
    }
    if (typeof v === 'object') {
      const o = /** @type {Record<string, unknown>} */ (v);
      for (const r of Array.isArray(s.required) ? s.required : []) {
        if (!(r in o)) errs.push({ type: 'Required', field: path ? `${path}.${r}` : r });
      }
      const props = s.properties ?? {};
      for (const [k, val] of Object.entries(o)) {
        if (!path && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
        const p = path ? `${path}.${k}` : k;
        if (props[k]) walk(props[k], val, p);
        else if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties, val, p);
      }
    }
  };
  walk(schema, obj, '');
  return errs;
}
