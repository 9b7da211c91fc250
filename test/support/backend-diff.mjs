// @ts-check
// What the runbook leaves on two clusters, read with the real kubectl in a form
// two backends can be compared by (the twin's and the real one's), and the
// table of what differs. Compared: the objects the runbook and Cilium's chart
// make (kube-system objects named for Cilium, ClusterMesh, Hubble or Helm; the
// echo namespace; Cilium's cluster-wide pools and policies), each by its
// labels and annotations, the fields the article is about, and the Helm
// release's chart and values. Values that are the settings of the run are
// written as ${SETTING}, so backends with different addresses compare equal.
import { gunzipSync } from 'node:zlib';

/** @typedef {(args: string[]) => Promise<{ code: number | null, stdout: string, stderr: string }>} Kubectl */

/** kube-system objects of these kinds named like this are the runbook's. */
const SYSTEM_KINDS = ['deployments', 'daemonsets', 'services', 'serviceaccounts', 'configmaps', 'secrets', 'jobs', 'cronjobs', 'roles', 'rolebindings'];
const SYSTEM_NAMES = /cilium|clustermesh|hubble|^sh\.helm\.release\.v1\.cilium\./;
const ECHO_KINDS = ['deployments', 'services'];
const CLUSTER_KINDS = ['ciliumloadbalancerippools.cilium.io', 'ciliuml2announcementpolicies.cilium.io'];
const RBAC_KINDS = ['clusterroles', 'clusterrolebindings'];

/** Annotations and labels that say when or in which order, not what. */
const VOLATILE_ANNOTATIONS = /^(kubectl\.kubernetes\.io\/last-applied-configuration|deployment\.kubernetes\.io\/revision|kubectl\.kubernetes\.io\/restartedAt)$/;
const VOLATILE_LABELS = /^(createdAt|modifiedAt)$/; // Helm's release records: seconds since the epoch

/**
 * A value with its times and measured durations replaced: step 09's drill
 * record says when it passed and how long failover took.
 * @param {string} v
 */
const timeless = (v) => v.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>').replace(/\d+\.\d+s\b/g, '<seconds>s')
  .replace(/\b\d+ failed requests/g, '<n> failed requests');

/** Fields a server fills at random (allocated IPs and ports) or per object (uids in selectors). */
const RANDOM = /^spec\.(clusterIPs?|ports\[[^\]]*\]\.nodePort|healthCheckNodePort)$|controller-uid/;

/**
 * The fields compared of one object, flattened to "field → JSON": labels,
 * annotations, the whole spec (as the server defaulted it), a Service's
 * LoadBalancer IPs, cilium-config's data, a Secret's type and keys and a Helm
 * release's values.
 * @param {any} o @returns {Record<string, string>}
 */
function fields(o) {
  /** @type {Record<string, unknown>} */
  const f = {};
  for (const [k, v] of Object.entries(o.metadata?.labels ?? {})) if (!VOLATILE_LABELS.test(k)) f[`label ${k}`] = v;
  for (const [k, v] of Object.entries(o.metadata?.annotations ?? {})) if (!VOLATILE_ANNOTATIONS.test(k)) f[`annotation ${k}`] = timeless(String(v));
  for (const [k, v] of flatten(o.spec ?? {}, 'spec')) if (!RANDOM.test(k)) f[k] = v;
  for (const k of ['rules', 'roleRef', 'subjects']) if (o[k]) for (const [p, v] of flatten(o[k], k)) f[p] = v;
  if (o.kind === 'Service') f.loadBalancerIPs = (o.status?.loadBalancer?.ingress ?? []).map((/** @type {any} */ i) => i.ip);
  if (o.kind === 'ConfigMap' && o.metadata.name === 'cilium-config') for (const [k, v] of Object.entries(o.data ?? {})) f[`data ${k}`] = v;
  if (o.kind === 'Secret') {
    f.type = o.type;
    f.keys = Object.keys(o.data ?? {}).sort();
    if (o.metadata.labels?.owner === 'helm') Object.assign(f, helmFields(o));
  }
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined).map(([k, v]) => [k, JSON.stringify(v)]));
}

/** A Helm release Secret's status, chart and values (its revision counts runs, not state). @param {any} o */
function helmFields(o) {
  let raw = Buffer.from(Buffer.from(o.data.release, 'base64').toString('utf8'), 'base64');
  if (raw[0] === 0x1f) raw = gunzipSync(raw);
  const rel = JSON.parse(raw.toString('utf8'));
  return { 'helm status': rel.info?.status, 'helm chart': `${rel.chart?.metadata?.name}-${rel.chart?.metadata?.version}`,
    ...Object.fromEntries(flatten(rel.config ?? {}).map(([k, v]) => [`helm value ${k}`, v])) };
}

/**
 * Leaves of `v` as [path, value]: objects by key, lists of objects by name
 * (containers, env) or else by position, other lists whole.
 * @param {any} v @param {string} [prefix] @returns {Array<[string, unknown]>}
 */
function flatten(v, prefix = '') {
  const at = (/** @type {string} */ k) => (prefix ? `${prefix}.${k}` : k);
  if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
    const named = v.every((x) => typeof x.name === 'string');
    return v.flatMap((x, i) => flatten(x, `${prefix}[${named ? x.name : i}]`));
  }
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
    return Object.entries(v).flatMap(([k, x]) => flatten(x, at(k)));
  }
  return [[prefix, v]];
}

/**
 * The InternalIP of every node of `contexts`, as settings NODE_IP_<node name>.
 * @param {Kubectl} k @param {string[]} contexts @returns {Promise<Record<string, string>>}
 */
async function nodeIps(k, contexts) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const context of contexts) {
    const r = await k(['--context', context, 'get', 'nodes', '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}']);
    for (const [name, ip] of r.stdout.trim().split('\n').map((l) => l.split(' '))) if (name && ip) out[`NODE_IP_${name}`] = ip;
  }
  return out;
}

/**
 * The runbook's objects on both clusters: "<A|B> <Kind> <namespace>/<name>" →
 * field → value, settings replaced by their names. A release Secret is
 * named by its release, not its revision.
 * Node IPs are named too (NODE_IP_<node>): a NodePort mesh writes the other
 * cluster's node IPs into the Helm values, and backends place nodes apart.
 * @param {Kubectl} k @param {Record<string, string>} settings the run's settings (contexts, namespace, addresses ...)
 * @returns {Promise<Map<string, Record<string, string>>>}
 */
export async function snapshot(k, settings) {
  const vars = { ...settings, ...(await nodeIps(k, [settings.CLUSTER_A_CONTEXT, settings.CLUSTER_B_CONTEXT])) };
  const echoNs = vars.ECHO_NAMESPACE ?? 'echo';
  /** @type {Map<string, Record<string, string>>} */
  const out = new Map();
  for (const [side, context] of [['A', vars.CLUSTER_A_CONTEXT], ['B', vars.CLUSTER_B_CONTEXT]]) {
    /** @type {Array<[string, string[], (name: string) => boolean]>} */
    const queries = [
      ['kube-system', SYSTEM_KINDS, (n) => SYSTEM_NAMES.test(n)],
      [echoNs, ECHO_KINDS, () => true],
      ['', CLUSTER_KINDS, () => true],
      ['', RBAC_KINDS, (n) => SYSTEM_NAMES.test(n)],
    ];
    for (const [ns, kinds, mine] of queries) {
      for (const kind of kinds) {
        const r = await k(['--context', context, 'get', kind, ...(ns ? ['-n', ns] : []), '-o', 'json']);
        if (r.code !== 0) {
          out.set(`${side} ${kind} ${ns}`, { 'kubectl get': JSON.stringify(r.stderr.trim().split('\n')[0]) });
          continue;
        }
        for (const o of JSON.parse(r.stdout).items) {
          if (!mine(o.metadata.name)) continue;
          const name = String(o.metadata.name).replace(/^(sh\.helm\.release\.v1\.cilium)\.v\d+$/, '$1.v<n>');
          out.set(`${side} ${o.kind} ${o.metadata.namespace ?? ''}/${name}`, settingsNamed(fields(o), vars));
        }
      }
    }
  }
  return out;
}

/**
 * Values replaced by ${NAME} where a setting has them (longest first, whole
 * values and addresses inside lists).
 * @param {Record<string, string>} f @param {Record<string, string>} vars
 */
function settingsNamed(f, vars) {
  const named = Object.entries(vars).filter(([n, v]) => v.length > 3 && !/^(KUBECONFIG|TIMEOUT_)/.test(n) && !/^(true|false)$/.test(v))
    .sort((x, y) => y[1].length - x[1].length);
  return Object.fromEntries(Object.entries(f).map(([key, value]) => {
    let v = value;
    for (const [n, s] of named) v = v.split(JSON.stringify(s).slice(1, -1)).join(`\${${n}}`);
    return [key, v];
  }));
}

/**
 * Rows [object, field, twin, real] where the two snapshots differ; "(none)"
 * where one has no such object or field.
 * @param {Map<string, Record<string, string>>} twin @param {Map<string, Record<string, string>>} real
 * @returns {string[][]}
 */
export function differences(twin, real) {
  const rows = [];
  for (const id of [...new Set([...twin.keys(), ...real.keys()])].sort()) {
    const t = twin.get(id);
    const r = real.get(id);
    if (!t || !r) { rows.push([id, '(object)', t ? 'present' : '(none)', r ? 'present' : '(none)']); continue; }
    for (const f of [...new Set([...Object.keys(t), ...Object.keys(r)])].sort()) {
      if (t[f] !== r[f]) rows.push([id, f, t[f] ?? '(none)', r[f] ?? '(none)']);
    }
  }
  return rows;
}

/** The rows as a text table (cells cut at 60 characters). @param {string[][]} rows */
export function differenceTable(rows) {
  if (!rows.length) return 'twin and real backend: no differences in the runbook\'s objects\n';
  const cut = (/** @type {string} */ s) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);
  const all = [['object', 'field', 'twin', 'real'], ...rows].map((r) => r.map(cut));
  const w = [0, 1, 2, 3].map((i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n') + '\n';
}
