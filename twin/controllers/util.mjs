// @ts-check
// Small helpers the controllers and the data plane share: label selectors,
// status conditions, readiness of the well-known Cilium workloads, IPv4 math,
// Kubernetes-style random names, and a coalescing scheduler whose timers are
// all cleared on stop.

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/store.mjs').Store} Store */

/** RFC 3339 time with second precision, as the API server writes it. */
export const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export const KUBE_SYSTEM = 'kube-system';

// ---------------------------------------------------------------- selectors

/**
 * @typedef {{ key: string, operator: string, values?: string[] }} SelectorRequirement
 * @typedef {{ matchLabels?: Record<string, string>, matchExpressions?: SelectorRequirement[] }} LabelSelector
 */

/**
 * metav1.LabelSelector semantics: undefined/null selects everything here (the
 * callers decide what a missing selector means); `{}` selects everything;
 * requirements are ANDed.
 * @param {LabelSelector | undefined | null} selector
 * @param {Record<string, string> | undefined} labels
 */
export function selectorMatches(selector, labels) {
  const l = labels ?? {};
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In': if (!has || !values.includes(l[req.key])) return false; break;
      case 'NotIn': if (has && values.includes(l[req.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false; // an invalid selector selects nothing
    }
  }
  return true;
}

/**
 * A Service's `spec.selector` (plain map). An empty or missing selector selects
 * no pods: such a Service has no managed endpoints.
 * @param {Record<string, string> | undefined} selector
 * @param {Record<string, string> | undefined} labels
 */
export function mapSelectorMatches(selector, labels) {
  if (!selector || Object.keys(selector).length === 0) return false;
  const l = labels ?? {};
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

/**
 * A Service's labels plus the virtual labels Cilium adds for pool and policy
 * selectors.
 * @param {KubeObject} svc
 */
export function serviceSelectorLabels(svc) {
  return {
    ...(svc.metadata.labels ?? {}),
    'io.kubernetes.service.namespace': svc.metadata.namespace ?? '',
    'io.kubernetes.service.name': svc.metadata.name,
  };
}

// --------------------------------------------------------------- conditions

/**
 * @typedef {{ type: string, status: string, reason?: string, message?: string,
 *   lastTransitionTime?: string, lastUpdateTime?: string, observedGeneration?: number, lastProbeTime?: null }} Condition
 */

/**
 * meta.SetStatusCondition: replaces the condition of that type, keeping its
 * lastTransitionTime when the status did not change. Returns a new array.
 * @param {Condition[] | undefined} conditions
 * @param {Condition} cond
 * @returns {Condition[]}
 */
export function setCondition(conditions, cond) {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === cond.type);
  const old = i >= 0 ? list[i] : undefined;
  const next = { ...cond };
  if (old && old.status === cond.status && old.lastTransitionTime) next.lastTransitionTime = old.lastTransitionTime;
  if (!next.lastTransitionTime) next.lastTransitionTime = nowIso();
  if (i >= 0) list[i] = next; else list.push(next);
  return list;
}

/** @param {Condition[] | undefined} conditions @param {string} type */
export const findCondition = (conditions, type) => (conditions ?? []).find((c) => c.type === type);

// ---------------------------------------------------------------- readiness

/**
 * A Deployment with at least one ready replica of its current generation's
 * rollout (what "the operator runs" means to its consumers).
 * @param {Store} store @param {string} ns @param {string} name
 */
export function deploymentHasReadyReplica(store, ns, name) {
  const d = store.get('apps/deployments', ns, name);
  if (!d) return false;
  return (d.status?.readyReplicas ?? 0) >= 1;
}

/**
 * A DaemonSet whose pods are scheduled and ready on every node it targets.
 * @param {Store} store @param {string} ns @param {string} name
 */
export function daemonSetReady(store, ns, name) {
  const ds = store.get('apps/daemonsets', ns, name);
  if (!ds) return false;
  const st = ds.status ?? {};
  const desired = st.desiredNumberScheduled ?? 0;
  return desired > 0 && (st.numberReady ?? 0) >= desired;
}

/** The cluster has a CNI: Cilium's agent DaemonSet is ready. @param {Store} store */
export const cniReady = (store) => daemonSetReady(store, KUBE_SYSTEM, 'cilium');

/** Data of ConfigMap kube-system/cilium-config, or undefined. @param {Store} store @returns {Record<string, string> | undefined} */
export function ciliumConfig(store) {
  const cm = store.get('/configmaps', KUBE_SYSTEM, 'cilium-config');
  return cm ? (cm.data ?? {}) : undefined;
}

/**
 * Cilium's version from the agent DaemonSet's image tag ("quay.io/cilium/cilium:v1.19.3@sha256:…").
 * @param {Store} store @returns {[number, number, number] | undefined}
 */
export function ciliumVersion(store) {
  const ds = store.get('apps/daemonsets', KUBE_SYSTEM, 'cilium');
  const containers = ds?.spec?.template?.spec?.containers ?? [];
  const agent = containers.find((/** @type {any} */ c) => c.name === 'cilium-agent') ?? containers[0];
  const m = /:v?(\d+)\.(\d+)\.(\d+)/.exec(String(agent?.image ?? ''));
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * A ready pod that is not being deleted: what endpoints are made of.
 * @param {KubeObject} pod
 */
export function podServes(pod) {
  if (pod.metadata.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return findCondition(pod.status?.conditions, 'Ready')?.status === 'True';
}

// ---------------------------------------------------------------------- IPv4

/** @param {string} ip @returns {number | undefined} */
export function ipToNum(ip) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(String(ip).trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** @param {number} n */
export const numToIp = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** @param {string} cidr @returns {{ from: number, to: number, bits: number } | undefined} */
export function parseCidr(cidr) {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(String(cidr).trim());
  if (!m) return undefined;
  const base = ipToNum(m[1]);
  const bits = Number(m[2]);
  if (base === undefined || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  const from = Math.floor(base / size) * size;
  return { from, to: from + size - 1, bits };
}

/** Only loopback addresses may ever be bound or dialled. @param {string} ip */
export const isLoopback = (ip) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip) && ipToNum(ip) !== undefined;

// -------------------------------------------------------------------- names

// k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable characters.
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** utilrand.String(n) @param {number} n */
export function randSuffix(n = 5) {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[Math.floor(Math.random() * ALPHANUMS.length)];
  return s;
}

/** utilrand.SafeEncodeString @param {string} s */
const safeEncode = (s) => [...s].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('');

/**
 * The pod-template-hash: FNV-32a of the template, printed in decimal and safe-encoded,
 * as the Deployment controller does (it hashes the Go struct; we hash its JSON).
 * @param {unknown} template
 */
export function templateHash(template) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(JSON.stringify(template ?? {}))) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return safeEncode(String(h >>> 0));
}

// ---------------------------------------------------------------- scheduler

/**
 * Runs `fn` once after `delayMs`, however many times `kick` is called before;
 * kicks during a run schedule one more run. Never runs after stop().
 */
export class Debouncer {
  /** @param {() => void} fn @param {() => number} delayMs */
  constructor(fn, delayMs) {
    this.fn = fn;
    this.delayMs = delayMs;
    /** @type {NodeJS.Timeout | undefined} */
    this.timer = undefined;
    this.stopped = false;
  }

  kick() {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      try {
        this.fn();
      } catch (err) {
        console.error('[twin] controller error:', err);
      }
    }, Math.max(0, this.delayMs()));
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Named one-shot timers, all cleared on stop(). */
export class Timers {
  constructor() {
    /** @type {Map<string, NodeJS.Timeout>} */
    this.map = new Map();
    this.stopped = false;
  }

  /** @param {string} key */
  has(key) { return this.map.has(key); }

  /** Sets the timer unless one with that key is pending. @param {string} key @param {number} ms @param {() => void} fn */
  ensure(key, ms, fn) {
    if (this.stopped || this.map.has(key)) return;
    this.map.set(key, setTimeout(() => {
      this.map.delete(key);
      if (this.stopped) return;
      try {
        fn();
      } catch (err) {
        console.error('[twin] controller error:', err);
      }
    }, Math.max(0, ms)));
  }

  /** @param {string} key */
  clear(key) {
    const t = this.map.get(key);
    if (t) clearTimeout(t);
    this.map.delete(key);
  }

  stop() {
    this.stopped = true;
    for (const t of this.map.values()) clearTimeout(t);
    this.map.clear();
  }
}

/**
 * Updates an object if `mutate` changed it; the store itself drops no-op writes.
 * Returns the stored object, or undefined when it is gone.
 * @param {Store} store @param {string} resource @param {string} ns @param {string} name
 * @param {(o: KubeObject) => void} mutate
 */
export function patchObject(store, resource, ns, name, mutate) {
  const o = store.get(resource, ns, name);
  if (!o) return undefined;
  const before = JSON.stringify(o);
  mutate(o);
  if (JSON.stringify(o) === before) return o;
  return store.update(resource, o);
}

/**
 * Nodes where a ready cilium agent pod (DaemonSet kube-system/cilium) runs.
 * Without such pods in the store (a twin whose state was written without the
 * workload controller), a ready DaemonSet status stands for every node.
 * @param {Store} store @param {Array<{ name: string }>} nodes
 * @returns {Set<string>}
 */
export function ciliumAgentNodes(store, nodes) {
  const out = new Set();
  let seen = false;
  for (const p of store.list('/pods', KUBE_SYSTEM)) {
    const owner = /** @type {any[]} */ (p.metadata.ownerReferences ?? []).find((r) => r.kind === 'DaemonSet');
    if (owner?.name !== 'cilium') continue;
    seen = true;
    if (podServes(p) && p.spec?.nodeName) out.add(p.spec.nodeName);
  }
  if (!seen && daemonSetReady(store, KUBE_SYSTEM, 'cilium')) for (const n of nodes) out.add(n.name);
  return out;
}
