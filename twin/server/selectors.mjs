// @ts-check
// Label and field selectors of list and watch requests
// (k8s.io/apimachinery/pkg/labels and pkg/fields syntax).
import { badRequest } from '../kinds/errors.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {(obj: KubeObject) => boolean} Matcher */

/**
 * Splits at commas outside parentheses.
 * @param {string} s
 */
function splitTop(s) {
  /** @type {string[]} */
  const out = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

/**
 * @param {string | null | undefined} selector e.g. "app=echo,tier in (a,b),!legacy"
 * @returns {(labels: Record<string, string> | undefined) => boolean}
 */
export function parseLabelSelector(selector) {
  if (!selector || !selector.trim()) return () => true;
  /** @type {Array<(l: Record<string, string>) => boolean>} */
  const reqs = [];
  for (const part of splitTop(selector)) {
    let m;
    if ((m = /^([^\s!=<>()]+)\s+(in|notin)\s+\((.*)\)$/.exec(part))) {
      const [, key, op, list] = m;
      const vals = list.split(',').map((v) => v.trim()).filter((v) => v !== '');
      reqs.push(op === 'in' ? (l) => Object.hasOwn(l, key) && vals.includes(l[key]) : (l) => !Object.hasOwn(l, key) || !vals.includes(l[key]));
    } else if ((m = /^([^\s!=<>()]+)\s*(==|=|!=)\s*([^\s!=<>(),]*)$/.exec(part))) {
      const [, key, op, val] = m;
      reqs.push(op === '!=' ? (l) => l[key] !== val : (l) => Object.hasOwn(l, key) && l[key] === val);
    } else if ((m = /^([^\s!=<>()]+)\s*(>|<)\s*(-?\d+)$/.exec(part))) {
      const [, key, op, n] = m;
      reqs.push((l) => Object.hasOwn(l, key) && /^-?\d+$/.test(l[key]) && (op === '>' ? Number(l[key]) > Number(n) : Number(l[key]) < Number(n)));
    } else if ((m = /^!\s*([^\s!=<>()]+)$/.exec(part))) {
      const key = m[1];
      reqs.push((l) => !Object.hasOwn(l, key));
    } else if ((m = /^([^\s!=<>()]+)$/.exec(part))) {
      const key = m[1];
      reqs.push((l) => Object.hasOwn(l, key));
    } else {
      throw badRequest(`unable to parse requirement: found '${part}', expected: identifier`);
    }
  }
  return (labels) => reqs.every((r) => r(labels ?? {}));
}

/** Field selectors a resource supports besides metadata.name and metadata.namespace. @type {Record<string, string[]>} */
const FIELDS = {
  '/pods': ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  '/events': ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  '/secrets': ['type'],
  '/nodes': ['spec.unschedulable'],
  '/namespaces': ['status.phase'],
  'apps/replicasets': ['status.replicas'],
};

/** @param {any} obj @param {string} path */
function fieldValue(obj, path) {
  let cur = obj;
  for (const p of path.split('.')) cur = cur?.[p];
  if (path === 'source' && obj?.source) return obj.source.component ?? '';
  if (cur === undefined || cur === null) return '';
  return String(cur);
}

/**
 * @param {string | null | undefined} selector e.g. "metadata.name=echo"
 * @param {string} resourceKey store key, for the fields this resource supports
 * @returns {Matcher}
 */
export function parseFieldSelector(selector, resourceKey) {
  if (!selector || !selector.trim()) return () => true;
  /** @type {Matcher[]} */
  const reqs = [];
  const allowed = ['metadata.name', 'metadata.namespace', ...(FIELDS[resourceKey] ?? [])];
  const isCustom = !FIELDS[resourceKey] && !resourceKey.startsWith('/') && !resourceKey.startsWith('apps/');
  for (const part of splitTop(selector)) {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [, field, op, val] = m;
    if (!allowed.includes(field) && !isCustom) throw badRequest(`field label not supported: ${field}`);
    if (!allowed.includes(field) && isCustom) throw badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    reqs.push(op === '!=' ? (o) => fieldValue(o, field) !== val : (o) => fieldValue(o, field) === val);
  }
  return (o) => reqs.every((r) => r(o));
}

/**
 * @param {URLSearchParams} q @param {string} resourceKey
 * @returns {Matcher}
 */
export function matcherFromQuery(q, resourceKey) {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const fields = parseFieldSelector(q.get('fieldSelector'), resourceKey);
  return (o) => labels(o.metadata.labels) && fields(o);
}
