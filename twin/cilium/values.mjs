// @ts-check
// Helm values handling as cilium-cli v0.19 + Helm v4 do it: merging of -f files
// and --set* flags (values.Options.MergeValues), the CLI's own mergeMaps,
// Helm's CoalesceTables (used by --reuse-values / --reset-then-reuse-values and
// to lay user values over chart defaults), the slice of the Cilium 1.19 chart
// defaults the twin renders from, and the chart's JSON-schema type checks for the
// keys that matter here.
import { readFileSync } from 'node:fs';
import { parseInto, parseIntoFile } from './strvals.mjs';

/** @typedef {Record<string, any>} Values */

/** @param {any} v @returns {v is Values} */
export const isTable = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Go template truthiness (the chart's `if`). @param {any} v */
export const truthy = (v) => !(v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (isTable(v) && Object.keys(v).length === 0));

/** A value as a table: itself when it is one, else empty. @param {any} t @returns {Record<string, any>} */
export const table = (t) => (isTable(t) ? t : {});

/** @template T @param {T} v @returns {T} */
export const clone = (v) => structuredClone(v);

/**
 * cilium-cli internal/helm mergeMaps (also Helm's loader.MergeMaps): b wins, maps merge.
 * @param {Values} a @param {Values} b @returns {Values}
 */
export function mergeMaps(a, b) {
  /** @type {Values} */
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (isTable(v) && isTable(out[k])) {
      out[k] = mergeMaps(out[k], v);
      continue;
    }
    out[k] = v;
  }
  return out;
}

/**
 * Helm's CoalesceTables(dst, src): dst is authoritative, src fills the gaps;
 * a null in dst removes a key src has. Mutates and returns dst.
 * @param {Values | null | undefined} dst @param {Values | null | undefined} src
 * @param {(msg: string) => void} [warn]
 * @returns {Values}
 */
export function coalesceTables(dst, src, warn = () => {}, prefix = '') {
  if (src == null) return /** @type {Values} */ (dst);
  if (dst == null) return src;
  const srcNonNil = new Set(Object.keys(src).filter((k) => src[k] != null));
  for (const [k, v] of Object.entries(dst)) if (v == null) src[k] = null;
  for (const [k, v] of Object.entries(src)) {
    const full = prefix ? `${prefix}.${k}` : k;
    const has = Object.prototype.hasOwnProperty.call(dst, k);
    const dv = dst[k];
    if (has && dv == null && srcNonNil.has(k)) delete dst[k];
    else if (!has) dst[k] = v;
    else if (isTable(v)) {
      if (isTable(dv)) coalesceTables(dv, v, warn, full);
      else warn(`warning: cannot overwrite table with non table for ${full} (${goFmt(v)})`);
    } else if (isTable(dv) && v != null) {
      warn(`warning: destination for ${full} is a table. Ignoring non-table value (${goFmt(v)})`);
    }
  }
  return dst;
}

/** @param {any} v @returns {string} */
function goFmt(v) {
  if (isTable(v)) return `map[${Object.keys(v).sort().map((/** @type {string} */ k) => `${k}:${goFmt(v[k])}`).join(' ')}]`;
  if (Array.isArray(v)) return `[${v.map(goFmt).join(' ')}]`;
  return v === null ? '<nil>' : String(v);
}

/**
 * The user-supplied flags of an install/upgrade.
 * @typedef {{ valueFiles: string[], values: string[], stringValues: string[], fileValues: string[] }} HelmOpts
 */

/**
 * Helm v4 values.Options.MergeValues: -f files in order, then --set, --set-string, --set-file.
 * @param {HelmOpts} opts
 * @param {(path: string) => Promise<any>} loadYaml parses one values file
 * @returns {Promise<Values>}
 */
export async function mergeValues(opts, loadYaml) {
  /** @type {Values} */
  let base = {};
  for (const f of opts.valueFiles) {
    let text;
    try {
      text = f.trim() === '-' ? readFileSync(0, 'utf8') : readFileSync(f, 'utf8');
    } catch (e) {
      throw new Error(goFileError(f, e));
    }
    let parsed;
    try {
      parsed = await loadYaml(text);
    } catch (e) {
      throw new Error(`failed to parse ${f}: error converting YAML to JSON: yaml: ${/** @type {Error} */ (e).message.split('\n')[0]}`);
    }
    base = mergeMaps(base, isTable(parsed) ? parsed : {});
  }
  for (const v of opts.values) {
    try { parseInto(v, base); } catch (e) { throw new Error(`failed parsing --set data: ${/** @type {Error} */ (e).message}`); }
  }
  for (const v of opts.stringValues) {
    try { parseInto(v, base, true); } catch (e) { throw new Error(`failed parsing --set-string data: ${/** @type {Error} */ (e).message}`); }
  }
  for (const v of opts.fileValues) {
    try {
      parseIntoFile(v, base, (p) => {
        try { return readFileSync(p, 'utf8'); } catch (e) { throw new Error(goFileError(p, e)); }
      });
    } catch (e) { throw new Error(`failed parsing --set-file data: ${/** @type {Error} */ (e).message}`); }
  }
  return base;
}

/** Go's *fs.PathError text for a failed open. @param {string} path @param {unknown} e */
export function goFileError(path, e) {
  const code = /** @type {NodeJS.ErrnoException} */ (e).code;
  const text = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied'
    : code === 'EISDIR' ? 'is a directory' : /** @type {Error} */ (e).message;
  return `open ${path}: ${text}`;
}

/** Envoy image tag shipped with the 1.19.3 chart (other versions reuse it: simplification). */
const ENVOY_TAG = 'v1.36.6-1776000132-2437d2edeaf4d9b56ef279bd0d71127440c067aa';

/**
 * The part of the Cilium chart's values.yaml the twin renders from (1.19 defaults).
 * @param {string} version chart version, e.g. "1.19.3"
 * @returns {Values}
 */
export function chartDefaults(version) {
  const tag = `v${version}`;
  return {
    agent: true,
    l7Proxy: true,
    preflight: { enabled: false },
    upgradeCompatibility: null,
    commonLabels: {},
    extraConfig: {},
    cluster: { name: 'default', id: 0 },
    image: { repository: 'quay.io/cilium/cilium', tag, pullPolicy: 'IfNotPresent' },
    k8sServiceHost: '',
    k8sServicePort: '',
    k8sServiceHostRef: { name: null, key: null },
    kubeProxyReplacement: 'false',
    routingMode: '',
    tunnelProtocol: '',
    identityAllocationMode: 'crd',
    enableLBIPAM: true,
    defaultLBServiceIPAM: 'lbipam',
    l2announcements: { enabled: false },
    ipv4: { enabled: true },
    ipv6: { enabled: false },
    ipam: {
      mode: 'cluster-pool',
      operator: { clusterPoolIPv4PodCIDRList: ['10.0.0.0/8'], clusterPoolIPv4MaskSize: 24, clusterPoolIPv6PodCIDRList: ['fd00::/104'], clusterPoolIPv6MaskSize: 120 },
    },
    operator: { enabled: true, replicas: 2, image: { repository: 'quay.io/cilium/operator', tag, suffix: '', pullPolicy: 'IfNotPresent' } },
    envoy: { enabled: null, image: { repository: 'quay.io/cilium/cilium-envoy', tag: ENVOY_TAG, pullPolicy: 'IfNotPresent' } },
    hubble: {
      enabled: true,
      metrics: { enabled: null },
      tls: { enabled: true, auto: { enabled: true, method: 'helm', certValidityDuration: 365 } },
      relay: { enabled: false, replicas: 1, image: { repository: 'quay.io/cilium/hubble-relay', tag } },
      ui: {
        enabled: false, replicas: 1, standalone: { enabled: false },
        frontend: { image: { repository: 'quay.io/cilium/hubble-ui', tag: 'v0.13.3' } },
        backend: { image: { repository: 'quay.io/cilium/hubble-ui-backend', tag: 'v0.13.3' } },
      },
    },
    clustermesh: {
      useAPIServer: false,
      maxConnectedClusters: 255,
      annotations: {},
      config: { enabled: false, domain: 'mesh.cilium.io', clusters: [] },
      apiserver: {
        replicas: 1,
        image: { repository: 'quay.io/cilium/clustermesh-apiserver', tag },
        podAnnotations: {},
        service: { type: 'NodePort', nodePort: 32379, annotations: {}, labels: {}, loadBalancerClass: null, loadBalancerIP: null },
        kvstoremesh: { enabled: true, kvstoreMode: 'internal' },
        tls: { authMode: 'migration', auto: { enabled: true, method: 'helm', certValidityDuration: 1095 } },
      },
    },
    tls: {
      ca: { cert: '', key: '', certValidityDuration: 1095 },
      caBundle: { enabled: false, name: 'cilium-root-ca.crt', key: 'ca.crt', useSecret: false },
    },
  };
}

/**
 * User values laid over the chart defaults (Helm's CoalesceValues).
 * @param {Values} config @param {string} version @param {(m: string) => void} [warn]
 */
export function coalesceWithDefaults(config, version, warn) {
  return coalesceTables(clone(config), chartDefaults(version), warn);
}

/**
 * Reads a nested value; undefined when a step is missing.
 * @param {Values | undefined} v @param {...string} path
 */
export function dig(v, ...path) {
  /** @type {any} */
  let cur = v;
  for (const p of path) {
    if (!isTable(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/**
 * Sets a nested value, making tables on the way.
 * @param {Values} v @param {any} value @param {...string} path
 */
export function setIn(v, value, ...path) {
  let cur = v;
  for (const p of path.slice(0, -1)) {
    if (!isTable(cur[p])) cur[p] = {};
    cur = cur[p];
  }
  cur[/** @type {string} */ (path.at(-1))] = value;
}

/** The chart's schema types for the keys the twin knows (values.schema.json of 1.19.3). */
const SCHEMA_TYPES = /** @type {Array<[string, string[]]>} */ ([
  ['/cluster/id', ['integer']],
  ['/cluster/name', ['string']],
  ['/operator/replicas', ['integer']],
  ['/kubeProxyReplacement', ['string', 'boolean']],
  ['/k8sServiceHost', ['string']],
  ['/k8sServicePort', ['string', 'integer']],
  ['/routingMode', ['string']],
  ['/tunnelProtocol', ['string']],
  ['/enableLBIPAM', ['boolean']],
  ['/l2announcements/enabled', ['boolean']],
  ['/ipam/mode', ['string']],
  ['/ipam/operator/clusterPoolIPv4PodCIDRList', ['array', 'string']],
  ['/ipam/operator/clusterPoolIPv4MaskSize', ['integer']],
  ['/hubble/enabled', ['boolean']],
  ['/hubble/relay/enabled', ['boolean']],
  ['/hubble/ui/enabled', ['boolean']],
  ['/hubble/metrics/enabled', ['null', 'array']],
  ['/clustermesh/useAPIServer', ['boolean']],
  ['/clustermesh/maxConnectedClusters', ['integer']],
  ['/clustermesh/config/enabled', ['boolean']],
  ['/clustermesh/config/clusters', ['object', 'array']],
  ['/clustermesh/apiserver/replicas', ['integer']],
  ['/clustermesh/apiserver/service/type', ['string']],
  ['/clustermesh/apiserver/kvstoremesh/enabled', ['boolean']],
]);

/** JSON-schema type name of a value. @param {any} v */
function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/**
 * Validates coalesced values against the chart schema types; returns Helm's error text or ''.
 * @param {Values} values
 */
export function schemaErrors(values) {
  const errs = [];
  for (const [ptr, want] of SCHEMA_TYPES) {
    const v = dig(values, ...ptr.split('/').slice(1));
    if (v === undefined) continue;
    const got = jsonType(v);
    const ok = want.includes(got) || (got === 'integer' && want.includes('number'));
    if (!ok) errs.push(`- at '${ptr}': got ${got === 'integer' ? 'number' : got}, want ${want.join(' or ')}`);
  }
  if (errs.length === 0) return '';
  return `values don't meet the specifications of the schema(s) in the following chart(s):\ncilium:\n${errs.join('\n')}\n`;
}

/**
 * YAML as sigs.k8s.io/yaml prints it (sorted keys, sequences not indented).
 * @param {any} v
 */
export async function toYaml(v) {
  const Y = await import('yaml');
  if (isTable(v) && Object.keys(v).length === 0) return '{}\n';
  return Y.stringify(v, { indentSeq: false, sortMapEntries: true, lineWidth: 0 });
}

/** @param {string} text */
export async function fromYaml(text) {
  const Y = await import('yaml');
  return Y.parse(text);
}
