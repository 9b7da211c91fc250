// @ts-check
// Decoding errors a real API server reports before anything else, for the
// mistakes a YAML author makes most: a label or annotation value that YAML
// turned into a bool or number (`service.cilium.io/global: true` unquoted), a
// ConfigMap value that is not a string, Secret data that is not base64, and
// annotations over the 256 KiB limit (a big last-applied configuration).
// Messages follow encoding/json ("json: cannot unmarshal bool into Go struct
// field ObjectMeta.metadata.labels of type string").

/** @param {unknown} v */
function jsonKind(v) {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  if (Array.isArray(v)) return 'array';
  if (v && typeof v === 'object') return 'object';
  return typeof v;
}

/**
 * Where a map of strings sits, and the Go struct that holds it.
 * @type {Array<{ kinds: string[] | '*', path: string[], struct: string }>}
 */
const STRING_MAPS = [
  { kinds: '*', path: ['metadata', 'labels'], struct: 'ObjectMeta' },
  { kinds: '*', path: ['metadata', 'annotations'], struct: 'ObjectMeta' },
  { kinds: ['apps/Deployment', 'apps/DaemonSet', 'apps/ReplicaSet', 'batch/Job'], path: ['spec', 'template', 'metadata', 'labels'], struct: 'ObjectMeta' },
  { kinds: ['apps/Deployment', 'apps/DaemonSet', 'apps/ReplicaSet', 'batch/Job'], path: ['spec', 'template', 'metadata', 'annotations'], struct: 'ObjectMeta' },
  { kinds: ['apps/Deployment', 'apps/DaemonSet', 'apps/ReplicaSet'], path: ['spec', 'selector', 'matchLabels'], struct: 'LabelSelector' },
  { kinds: ['apps/Deployment', 'apps/DaemonSet', 'apps/ReplicaSet'], path: ['spec', 'template', 'spec', 'nodeSelector'], struct: 'PodSpec' },
  { kinds: ['/Pod'], path: ['spec', 'nodeSelector'], struct: 'PodSpec' },
  { kinds: ['/Service'], path: ['spec', 'selector'], struct: 'ServiceSpec' },
  { kinds: ['/ConfigMap'], path: ['data'], struct: 'ConfigMap' },
  { kinds: ['/ConfigMap'], path: ['binaryData'], struct: 'ConfigMap' },
  { kinds: ['/Secret'], path: ['data'], struct: 'Secret' },
  { kinds: ['/Secret'], path: ['stringData'], struct: 'Secret' },
];

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_ANNOTATIONS = 256 * 1024;

/**
 * The decoding error of an object, if any.
 * @param {string} group @param {string} kind @param {any} obj
 * @returns {string | undefined}
 */
export function decodingError(group, kind, obj) {
  const gk = `${group}/${kind}`;
  for (const m of STRING_MAPS) {
    if (m.kinds !== '*' && !m.kinds.includes(gk)) continue;
    let cur = obj;
    for (const p of m.path) cur = cur && typeof cur === 'object' ? cur[p] : undefined;
    if (cur === undefined || cur === null) continue;
    const path = m.path.join('.');
    if (typeof cur !== 'object' || Array.isArray(cur)) {
      return `json: cannot unmarshal ${jsonKind(cur)} into Go struct field ${m.struct}.${path} of type map[string]string`;
    }
    for (const v of Object.values(cur)) {
      if (v !== null && typeof v !== 'string') return `json: cannot unmarshal ${jsonKind(v)} into Go struct field ${m.struct}.${path} of type string`;
    }
    if ((gk === '/Secret' && m.path[0] === 'data') || m.path[0] === 'binaryData') {
      for (const v of Object.values(cur)) {
        const s = String(v ?? '');
        if (!BASE64.test(s) || s.length % 4 !== 0) {
          const at = [...s].findIndex((ch) => !/[A-Za-z0-9+/=]/.test(ch));
          return `illegal base64 data at input byte ${at >= 0 ? at : Math.floor(s.length / 4) * 4}`;
        }
      }
    }
  }
  return undefined;
}

/**
 * The annotation size check of ObjectMeta validation.
 * @param {any} obj
 * @returns {import('./errors.mjs').FieldError | undefined}
 */
export function annotationsTooLong(obj) {
  const a = obj?.metadata?.annotations;
  if (!a || typeof a !== 'object') return undefined;
  let size = 0;
  for (const [k, v] of Object.entries(a)) size += k.length + String(v ?? '').length;
  return size > MAX_ANNOTATIONS ? { type: 'TooLong', field: 'metadata.annotations', detail: `must have at most ${MAX_ANNOTATIONS} bytes` } : undefined;
}
