// @ts-check
// Helm v4 as embedded in cilium-cli v0.19.7, reduced to what the CLI uses:
// release records in Secrets (driver "Secret": sh.helm.release.v1.<name>.v<N>,
// type helm.sh/release.v1, labels owner/name/status/version/createdAt|modifiedAt,
// data.release = base64(gzip(JSON release))), install (name check, ownership
// check of existing objects, create, optional --wait), upgrade (reset/reuse/
// reset-then-reuse values, 3-way apply, prune of objects no longer rendered,
// superseding the previous revision, --history-max), uninstall, and the error
// texts Helm returns.
import { gzipSync, gunzipSync, constants as zc } from 'node:zlib';
import { KubeError, isNotFound, isConflict, sleep } from './kube.mjs';
import { coalesceTables, coalesceWithDefaults, chartDefaults, clone, isTable, schemaErrors, dig } from './values.mjs';
import { renderChart, installOrder, manifestText, parseManifest, caSecretRendered } from './chart.mjs';
import { generateCA, signLeaf } from './pki.mjs';
import { formatDuration } from './argv.mjs';

/** @typedef {import('./values.mjs').Values} Values */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('./kube.mjs').Kube} Kube */

/**
 * Helm's release object (release/v1.Release as JSON).
 * @typedef {object} Release
 * @property {string} name
 * @property {{ first_deployed?: string, last_deployed?: string, deleted?: string, description?: string, status: string, notes?: string }} info
 * @property {{ metadata: Record<string, any>, lock?: any, templates?: any[], values?: Values, schema?: string, files?: any[] }} chart
 * @property {Values} [config]
 * @property {string} [manifest]
 * @property {number} version
 * @property {string} namespace
 * @property {string} [apply_method]
 * @property {Record<string,string>} [labels] storage labels (not serialized)
 */

export const ERR_RELEASE_NOT_FOUND = 'release: not found';

/** Helm's encodeRelease: base64(gzip(json)), BestCompression. @param {Release} rel */
export function encodeRelease(rel) {
  const { labels: _l, ...body } = rel;
  return gzipSync(Buffer.from(JSON.stringify(body)), { level: zc.Z_BEST_COMPRESSION }).toString('base64');
}

/** Helm's decodeRelease (gzip optional). @param {string} data @returns {Release} */
export function decodeRelease(data) {
  let b = Buffer.from(data, 'base64');
  if (b.length > 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) b = gunzipSync(b);
  return JSON.parse(b.toString('utf8'));
}

/** RFC3339 with nanoseconds and local offset, as Go's time.Time marshals. */
export function goNow() {
  const d = new Date();
  const off = -d.getTimezoneOffset();
  const pad = (/** @type {number} */ n, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const local = new Date(d.getTime() + off * 60_000);
  const tz = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const ns = `${pad(local.getUTCMilliseconds(), 3)}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}.${ns}${tz}`;
}

/** The chart object stored in releases. @param {string} version */
export function chartObject(version) {
  return {
    metadata: {
      name: 'cilium', home: 'https://cilium.io/', sources: ['https://github.com/cilium/cilium'], version,
      description: 'eBPF-based Networking, Security, and Observability',
      keywords: ['BPF', 'eBPF', 'Kubernetes', 'Networking', 'Security', 'Observability', 'Troubleshooting'],
      icon: 'https://cdn.jsdelivr.net/gh/cilium/cilium@main/Documentation/images/logo-solo.svg',
      apiVersion: 'v2', appVersion: version, kubeVersion: '>= 1.21.0-0',
    },
    lock: null,
    templates: [],
    values: chartDefaults(version),
    files: [],
  };
}

/** Release storage in Secrets (Helm's storage + driver.Secrets). */
export class ReleaseStore {
  /** @param {Kube} kube @param {string} namespace */
  constructor(kube, namespace) { this.kube = kube; this.namespace = namespace; }

  /** @param {string} name @param {number} version */
  key(name, version) { return `sh.helm.release.v1.${name}.v${version}`; }

  /**
   * All revisions of a release (Query name=<name>,owner=helm). Throws release: not found when none.
   * @param {string} name @returns {Promise<Release[]>}
   */
  async history(name) {
    const items = await this.kube.list('Secret', this.namespace, { labelSelector: `name=${name},owner=helm` });
    if (items.length === 0) throw new KubeError(ERR_RELEASE_NOT_FOUND);
    const out = [];
    for (const s of items) {
      try {
        const rel = decodeRelease(Buffer.from(s.data?.release ?? '', 'base64').toString('utf8'));
        rel.labels = s.metadata.labels ?? {};
        out.push(rel);
      } catch { /* Helm skips records it cannot decode */ }
    }
    return out.sort((a, b) => a.version - b.version);
  }

  /** Storage.Last. @param {string} name */
  async last(name) {
    const h = await this.history(name);
    if (h.length === 0) throw new KubeError(`no revision for release ${JSON.stringify(name)}`);
    return h[h.length - 1];
  }

  /** Storage.Deployed (latest deployed revision) or null. @param {string} name */
  async deployed(name) {
    let h;
    try { h = await this.history(name); } catch (e) { if (String(/** @type {Error} */ (e).message).includes('not found')) return null; throw e; }
    const d = h.filter((r) => r.info.status === 'deployed');
    return d.length ? d[d.length - 1] : null;
  }

  /** @param {Release} rel @param {Record<string,string>} labels */
  secret(rel, labels) {
    return /** @type {KubeObject} */ ({
      apiVersion: 'v1', kind: 'Secret',
      metadata: {
        name: this.key(rel.name, rel.version), namespace: this.namespace,
        labels: { ...labels, name: rel.name, owner: 'helm', status: rel.info.status, version: String(rel.version) },
      },
      type: 'helm.sh/release.v1',
      data: { release: Buffer.from(encodeRelease(rel)).toString('base64') },
    });
  }

  /** Storage.Create with --history-max pruning. @param {Release} rel @param {number} maxHistory */
  async create(rel, maxHistory) {
    if (maxHistory > 0) await this.prune(rel.name, maxHistory - 1);
    const obj = this.secret(rel, { createdAt: String(Math.floor(Date.now() / 1000)) });
    try {
      await this.kube.create(obj);
    } catch (e) {
      if (e instanceof KubeError && e.code === 409) throw new KubeError('release: already exists');
      throw new KubeError(`create: failed to create: ${/** @type {Error} */ (e).message}`);
    }
  }

  /** Storage.Update. @param {Release} rel */
  async update(rel) {
    const name = this.key(rel.name, rel.version);
    for (let i = 0; ; i++) {
      let live;
      try { live = await this.kube.get('Secret', this.namespace, name); } catch (e) { if (!isNotFound(e)) throw e; }
      const labels = { ...(live?.metadata.labels ?? rel.labels ?? {}), modifiedAt: String(Math.floor(Date.now() / 1000)) };
      const obj = this.secret(rel, labels);
      try {
        if (live) {
          obj.metadata.resourceVersion = live.metadata.resourceVersion;
          await this.kube.replace(obj);
        } else {
          await this.kube.create(obj);
        }
        return;
      } catch (e) {
        if (isConflict(e) && i < 5) continue;
        throw new KubeError(`update: failed to update: ${/** @type {Error} */ (e).message}`);
      }
    }
  }

  /** Deletes old revisions so that at most `max` remain (never the deployed one). @param {string} name @param {number} max */
  async prune(name, max) {
    let h;
    try { h = await this.history(name); } catch { return; }
    if (h.length <= max) return;
    const deployed = h.filter((r) => r.info.status === 'deployed').at(-1);
    const toDelete = [];
    for (const r of h) {
      if (h.length - toDelete.length === max) break;
      if (deployed && r.version === deployed.version) continue;
      toDelete.push(r);
    }
    for (const r of toDelete) {
      try { await this.kube.delete('Secret', this.namespace, this.key(name, r.version)); } catch (e) { if (!isNotFound(e)) throw e; }
    }
  }

  /** Deletes every revision. @param {string} name */
  async purge(name) {
    let h;
    try { h = await this.history(name); } catch { return; }
    for (const r of h) {
      try { await this.kube.delete('Secret', this.namespace, this.key(name, r.version)); } catch (e) { if (!isNotFound(e)) throw e; }
    }
  }
}

/** @param {KubeObject} o */
const objKey = (o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Helm's resourceString. @param {KubeObject} o */
const resourceString = (o) => `${o.kind} ${JSON.stringify(o.metadata.name)} in namespace ${JSON.stringify(o.metadata.namespace ?? '')}`;

/**
 * Helm's checkOwnership; '' when the object belongs to the release.
 * @param {KubeObject} live @param {string} rel @param {string} ns
 */
function ownershipError(live, rel, ns) {
  const errs = [];
  const lbl = live.metadata.labels ?? {};
  const ann = live.metadata.annotations ?? {};
  /** @param {Record<string,string>} m @param {string} k @param {string} v */
  const req = (m, k, v) => (!(k in m) ? `missing key ${JSON.stringify(k)}: must be set to ${JSON.stringify(v)}`
    : m[k] !== v ? `key ${JSON.stringify(k)} must equal ${JSON.stringify(v)}: current value is ${JSON.stringify(m[k])}` : '');
  let e;
  if ((e = req(lbl, 'app.kubernetes.io/managed-by', 'Helm'))) errs.push(`label validation error: ${e}`);
  if ((e = req(ann, 'meta.helm.sh/release-name', rel))) errs.push(`annotation validation error: ${e}`);
  if ((e = req(ann, 'meta.helm.sh/release-namespace', ns))) errs.push(`annotation validation error: ${e}`);
  return errs.length ? `invalid ownership metadata; ${errs.join('; ')}` : '';
}

/** Adds Helm's ownership metadata to a rendered object. @param {KubeObject} o @param {string} rel @param {string} ns */
function withOwnership(o, rel, ns) {
  const c = clone(o);
  c.metadata.labels = { ...(c.metadata.labels ?? {}), 'app.kubernetes.io/managed-by': 'Helm' };
  c.metadata.annotations = { ...(c.metadata.annotations ?? {}), 'meta.helm.sh/release-name': rel, 'meta.helm.sh/release-namespace': ns };
  return c;
}

/** Deep equality of JSON values. @param {any} a @param {any} b @returns {boolean} */
function deq(a, b) {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deq(x, b[i]));
  if (isTable(a) && isTable(b)) {
    const ka = Object.keys(a); const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deq(a[k], b[k]));
  }
  return false;
}

/**
 * JSON merge patch from `original` to `modified` (keys removed become null).
 * @param {any} original @param {any} modified @returns {any}
 */
export function threeWayPatch(original, modified) {
  /** @type {Record<string, any>} */
  const p = {};
  const o = isTable(original) ? original : {};
  for (const [k, v] of Object.entries(modified)) {
    if (isTable(v) && isTable(o[k])) {
      const sub = threeWayPatch(o[k], v);
      if (Object.keys(sub).length) p[k] = sub;
    } else if (!deq(o[k], v)) p[k] = v;
  }
  for (const k of Object.keys(o)) if (!(k in modified)) p[k] = null;
  return p;
}

/** RFC 7386 merge patch. @param {any} target @param {any} patch @returns {any} */
export function applyMergePatch(target, patch) {
  if (!isTable(patch)) return clone(patch);
  const out = isTable(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/**
 * Applies the target objects: create missing ones, patch existing ones (3-way from the
 * previous manifest), delete objects of the previous manifest that are no longer rendered.
 * @param {Kube} kube @param {KubeObject[]} previous @param {KubeObject[]} target
 */
async function applyObjects(kube, previous, target) {
  const prev = new Map(previous.map((o) => [objKey(o), o]));
  for (const t of target) {
    const original = prev.get(objKey(t)) ?? {};
    const patch = threeWayPatch(original, t);
    for (let attempt = 0; ; attempt++) {
      let live;
      try { live = await kube.get(t.kind, t.metadata.namespace ?? '', t.metadata.name); } catch (e) { if (!isNotFound(e)) throw e; }
      try {
        if (!live) {
          await kube.create(t);
        } else {
          if (Object.keys(patch).length === 0) break;
          const merged = applyMergePatch(live, patch);
          if (deq(merged, live)) break;
          merged.metadata.resourceVersion = live.metadata.resourceVersion;
          await kube.replace(merged);
        }
        break;
      } catch (e) {
        if (isConflict(e) && attempt < 5) continue;
        throw e;
      }
    }
  }
  const keep = new Set(target.map(objKey));
  const removed = previous.filter((o) => !keep.has(objKey(o)) && o.metadata.annotations?.['helm.sh/resource-policy'] !== 'keep');
  for (const o of uninstallOrder(removed)) {
    try { await kube.delete(o.kind, o.metadata.namespace ?? '', o.metadata.name, BACKGROUND); } catch (e) { if (!isNotFound(e)) throw e; }
  }
}

/** Helm deletes with the Background policy: a Job's pods go with it. */
const BACKGROUND = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' };

/** Helm's uninstall order (reverse of install for the kinds used). @param {KubeObject[]} list */
function uninstallOrder(list) {
  const order = ['Service', 'CronJob', 'Job', 'Deployment', 'Pod', 'DaemonSet', 'RoleBinding', 'Role', 'ClusterRoleBinding', 'ClusterRole',
    'ConfigMap', 'Secret', 'ServiceAccount', 'Namespace'];
  const rank = (/** @type {string} */ k) => { const i = order.indexOf(k); return i < 0 ? -1 : i; };
  return [...list].sort((a, b) => rank(a.kind) - rank(b.kind));
}

/**
 * kstatus-style readiness of one object; '' when Current, else the reason.
 * @param {KubeObject} o
 */
function notReadyReason(o) {
  const st = o.status ?? {};
  if (o.kind === 'Deployment') {
    const want = o.spec?.replicas ?? 1;
    if ((o.metadata.generation ?? 0) !== (st.observedGeneration ?? 0)) return `Deployment generation is ${o.metadata.generation}, but latest observed generation is ${st.observedGeneration ?? 0}`;
    if ((st.updatedReplicas ?? 0) < want) return `Updated: ${st.updatedReplicas ?? 0}/${want}`;
    if ((st.readyReplicas ?? 0) < want) return `Ready: ${st.readyReplicas ?? 0}/${want}`;
    if ((st.availableReplicas ?? 0) < want) return `Available: ${st.availableReplicas ?? 0}/${want}`;
    return '';
  }
  if (o.kind === 'DaemonSet') {
    const want = st.desiredNumberScheduled ?? 0;
    if ((o.metadata.generation ?? 0) !== (st.observedGeneration ?? 0)) return `DaemonSet generation is ${o.metadata.generation}, but latest observed generation is ${st.observedGeneration ?? 0}`;
    if (st.desiredNumberScheduled === undefined) return 'Missing .status.desiredNumberScheduled';
    if ((st.updatedNumberScheduled ?? 0) < want) return `Updated: ${st.updatedNumberScheduled ?? 0}/${want}`;
    if ((st.numberAvailable ?? 0) < want) return `Available: ${st.numberAvailable ?? 0}/${want}`;
    if ((st.numberReady ?? 0) < want) return `Ready: ${st.numberReady ?? 0}/${want}`;
    return '';
  }
  if (o.kind === 'Service' && o.spec?.type === 'LoadBalancer' && !o.spec?.clusterIP) return 'ClusterIP not set. Service type: LoadBalancer';
  return '';
}

/**
 * Helm's status watcher (--wait): all objects Current before the timeout.
 * @param {Kube} kube @param {KubeObject[]} objects @param {number} timeoutMs
 */
async function waitReady(kube, objects, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    /** @type {string[]} */
    const errs = [];
    for (const o of objects) {
      let live;
      try { live = await kube.get(o.kind, o.metadata.namespace ?? '', o.metadata.name); } catch (e) { if (!isNotFound(e)) throw e; }
      const why = live ? notReadyReason(live) : 'Resource not found';
      if (why) errs.push(`resource ${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name} not ready. status: ${live ? 'InProgress' : 'NotFound'}, message: ${why}`);
    }
    if (errs.length === 0) return;
    if (Date.now() >= deadline) throw new KubeError([...errs, 'context deadline exceeded'].join('\n'));
    await sleep(Math.min(1000, Math.max(50, deadline - Date.now())));
  }
}

/**
 * What a render needs from the cluster (the chart's `lookup` calls).
 * @param {Kube} kube @param {string} ns @param {Values} v @param {boolean} dryRun client dry-run: lookups see nothing
 */
async function chartLookups(kube, ns, v, dryRun) {
  /** @type {{ cert: string, key: string }} */
  let ca;
  const given = { cert: String(dig(v, 'tls', 'ca', 'cert') ?? ''), key: String(dig(v, 'tls', 'ca', 'key') ?? '') };
  if (given.cert && given.key) {
    ca = { cert: Buffer.from(given.cert, 'base64').toString('utf8'), key: Buffer.from(given.key, 'base64').toString('utf8') };
  } else {
    let existing;
    if (!dryRun) {
      try { existing = await kube.get('Secret', ns, 'cilium-ca'); } catch (e) { if (!isNotFound(e)) throw e; }
    }
    if (existing && existing.data?.['ca.crt'] && existing.data?.['ca.key']) {
      ca = { cert: Buffer.from(existing.data['ca.crt'], 'base64').toString('utf8'), key: Buffer.from(existing.data['ca.key'], 'base64').toString('utf8') };
    } else if (caSecretRendered(v) || dig(v, 'clustermesh', 'useAPIServer')) {
      ca = await generateCA('Cilium CA', Number(dig(v, 'tls', 'ca', 'certValidityDuration') ?? 1095));
    } else {
      ca = { cert: '', key: '' };
    }
  }
  /** @type {Record<string, Record<string,string>> | undefined} */
  let helmCerts;
  if (dig(v, 'clustermesh', 'useAPIServer') && dig(v, 'clustermesh', 'apiserver', 'tls', 'auto', 'method') === 'helm' && dig(v, 'clustermesh', 'apiserver', 'tls', 'auto', 'enabled')) {
    helmCerts = await clustermeshCerts(kube, ns, ca, String(dig(v, 'cluster', 'name')), dryRun, Boolean(dig(v, 'clustermesh', 'apiserver', 'kvstoremesh', 'enabled')));
  }
  return { ca, helmCerts };
}

/**
 * Data of the clustermesh-apiserver certificate Secrets, signed by the CA; existing ones are
 * kept (the twin does not rotate them on every upgrade, unlike Helm's helm method).
 * @param {Kube} kube @param {string} ns @param {{ cert: string, key: string }} ca @param {string} clusterName
 * @param {boolean} dryRun @param {boolean} withLocal
 * @returns {Promise<Record<string, Record<string,string>>>}
 */
export async function clustermeshCerts(kube, ns, ca, clusterName, dryRun, withLocal) {
  /** @type {Array<[string, string, 'server'|'client'|'both', string[]]>} */
  const wanted = [
    ['clustermesh-apiserver-server-cert', 'clustermesh-apiserver.cilium.io', 'both', ['clustermesh-apiserver.cilium.io', '*.mesh.cilium.io', `clustermesh-apiserver.${ns}.svc`]],
    ['clustermesh-apiserver-admin-cert', 'root', 'client', []],
    ['clustermesh-apiserver-remote-cert', `remote-${clusterName}`, 'client', []],
  ];
  if (withLocal) wanted.push(['clustermesh-apiserver-local-cert', `local-${clusterName}`, 'client', []]);
  /** @type {Record<string, Record<string,string>>} */
  const out = {};
  for (const [name, cn, usage, dns] of wanted) {
    let live;
    if (!dryRun) {
      try { live = await kube.get('Secret', ns, name); } catch (e) { if (!isNotFound(e)) throw e; }
    }
    if (live?.data?.['tls.crt'] && live.data['ca.crt'] === Buffer.from(ca.cert).toString('base64')) {
      out[name] = live.data;
      continue;
    }
    const leaf = await signLeaf({ caCert: ca.cert, caKey: ca.key, cn, days: 1095, usage, dns, ips: usage === 'client' ? [] : ['127.0.0.1', '::1'] });
    out[name] = {
      'ca.crt': Buffer.from(ca.cert).toString('base64'),
      'tls.crt': Buffer.from(leaf.cert).toString('base64'),
      'tls.key': Buffer.from(leaf.key).toString('base64'),
    };
  }
  return out;
}

/**
 * Renders the chart for a release: coalesce, schema check, lookups, templates.
 * @param {Kube} kube @param {{ namespace: string, name: string, version: string, config: Values, dryRun: boolean, warn: (m: string) => void }} o
 */
async function renderRelease(kube, o) {
  const values = coalesceWithDefaults(o.config, o.version, o.warn);
  const schema = schemaErrors(values);
  if (schema) throw new KubeError(schema);
  const { ca, helmCerts } = await chartLookups(kube, o.namespace, values, o.dryRun);
  const rendered = installOrder(renderChart({ values, namespace: o.namespace, releaseName: o.name, chartVersion: o.version, ca, helmCerts }));
  return { rendered, manifest: await manifestText(rendered), values, ca };
}

/**
 * @typedef {object} InstallOptions
 * @property {string} namespace
 * @property {string} name release name
 * @property {string} version chart version (no "v")
 * @property {Values} config user-supplied values
 * @property {boolean} wait
 * @property {number} waitMs
 * @property {boolean} dryRun client dry-run (no cluster writes)
 * @property {number} maxHistory
 * @property {(m: string) => void} warn
 */

/**
 * action.Install.RunWithContext.
 * @param {Kube} kube @param {InstallOptions} o
 * @returns {Promise<Release>}
 */
export async function helmInstall(kube, o) {
  const store = new ReleaseStore(kube, o.namespace);
  if (!o.dryRun) {
    /** @type {Release[]} */
    let h = [];
    try { h = await store.history(o.name); } catch (e) { if (!(e instanceof KubeError && e.message === ERR_RELEASE_NOT_FOUND)) h = []; }
    if (h.length > 0) throw new KubeError('release name check failed: cannot reuse a name that is still in use');
  }
  const now = goNow();
  /** @type {Release} */
  const rel = {
    name: o.name,
    info: { first_deployed: now, last_deployed: now, status: 'pending-install', description: 'Initial install underway' },
    chart: chartObject(o.version),
    config: o.config,
    manifest: '',
    version: 1,
    namespace: o.namespace,
    apply_method: 'csa',
  };
  const { rendered, manifest } = await renderRelease(kube, { ...o, dryRun: o.dryRun });
  rel.manifest = manifest;
  const target = rendered.map((r) => withOwnership(r.obj, o.name, o.namespace));
  if (o.dryRun) {
    rel.info.status = 'pending-install';
    rel.info.description = 'Dry run complete';
    return rel;
  }
  // Existing objects must already belong to this release (adoption), else Helm refuses.
  for (const t of target) {
    let live;
    try { live = await kube.get(t.kind, t.metadata.namespace ?? '', t.metadata.name); } catch (e) { if (!isNotFound(e)) throw e; }
    if (live) {
      const why = ownershipError(live, o.name, o.namespace);
      if (why) throw new KubeError(`unable to continue with install: ${resourceString(t)} exists and cannot be imported into the current release: ${why}`);
    }
  }
  await store.create(rel, o.maxHistory);
  try {
    await applyObjects(kube, [], target);
    if (o.wait) await waitReady(kube, target, o.waitMs);
  } catch (e) {
    rel.info.status = 'failed';
    rel.info.description = `Release ${JSON.stringify(o.name)} failed: ${/** @type {Error} */ (e).message}`;
    try { await store.update(rel); } catch { /* Helm ignores this error too */ }
    throw e;
  }
  rel.info.status = 'deployed';
  rel.info.description = 'Install complete';
  // Helm v4 (action/install.go) logs a failed final record update and reports success:
  // the release stays pending-install although everything was created.
  try { await store.update(rel); } catch (e) { logIgnored('failed to record the release', e); }
  return rel;
}

/**
 * @typedef {object} UpgradeOptions
 * @property {string} namespace
 * @property {string} name
 * @property {string | null} version chart version, null: the last release's chart
 * @property {Values} values new values (flags)
 * @property {boolean} [resetValues]
 * @property {boolean} [reuseValues]
 * @property {boolean} [resetThenReuseValues]
 * @property {boolean} [wait]
 * @property {number} [waitMs]
 * @property {boolean} [dryRun]
 * @property {number} [maxHistory]
 * @property {(m: string) => void} warn
 */

/**
 * helm.Upgrade of cilium-cli (action.Upgrade with the CLI's options).
 * @param {Kube} kube @param {UpgradeOptions} o
 * @returns {Promise<Release>}
 */
export async function helmUpgrade(kube, o) {
  const store = new ReleaseStore(kube, o.namespace);
  /** @type {Release} */
  let last;
  try {
    last = await store.last(o.name);
  } catch (e) {
    if (o.version === null) throw e; // cilium-cli's wrapper asks storage for the chart: "release: not found"
    if (e instanceof KubeError && e.message === ERR_RELEASE_NOT_FOUND) throw new KubeError(`${JSON.stringify(o.name)} has no deployed releases`);
    throw e;
  }
  if (/^pending-/.test(last.info.status)) throw new KubeError('another operation (install/upgrade/rollback) is in progress');
  let current = last;
  if (last.info.status !== 'deployed') {
    const d = await store.deployed(o.name);
    if (d) current = d;
    else if (last.info.status !== 'failed' && last.info.status !== 'superseded') throw new KubeError(`${JSON.stringify(o.name)} has no deployed releases`);
  }
  const version = o.version ?? String(last.chart?.metadata?.version ?? '');
  // Helm's reuseValues.
  let vals = clone(o.values);
  if (o.resetValues) {
    // new values only
  } else if (o.reuseValues || o.resetThenReuseValues) {
    vals = coalesceTables(vals, clone(current.config ?? {}), o.warn);
  } else if (Object.keys(vals).length === 0 && Object.keys(current.config ?? {}).length > 0) {
    vals = clone(current.config ?? {});
  }
  const { rendered, manifest } = await renderRelease(kube, { namespace: current.namespace || o.namespace, name: o.name, version, config: vals, dryRun: !!o.dryRun, warn: o.warn });
  const now = goNow();
  /** @type {Release} */
  const upgraded = {
    name: o.name,
    info: { first_deployed: current.info.first_deployed, last_deployed: now, status: 'pending-upgrade', description: 'Preparing upgrade' },
    chart: o.version === null ? (last.chart ?? chartObject(version)) : chartObject(version),
    config: vals,
    manifest,
    version: last.version + 1,
    namespace: current.namespace || o.namespace,
    apply_method: 'csa',
  };
  const previous = await parseManifest(current.manifest ?? '');
  const target = rendered.map((r) => withOwnership(r.obj, o.name, upgraded.namespace));
  const prevKeys = new Set(previous.map(objKey));
  for (const t of target) {
    if (prevKeys.has(objKey(t))) continue;
    let live;
    try { live = await kube.get(t.kind, t.metadata.namespace ?? '', t.metadata.name); } catch (e) { if (!isNotFound(e)) throw e; }
    if (live) {
      const why = ownershipError(live, o.name, upgraded.namespace);
      if (why) throw new KubeError(`unable to continue with update: ${resourceString(t)} exists and cannot be imported into the current release: ${why}`);
    }
  }
  if (o.dryRun) {
    upgraded.info.description = 'Dry run complete';
    return upgraded;
  }
  await store.create(upgraded, o.maxHistory ?? 0);
  try {
    await applyObjects(kube, previous, target);
    if (o.wait) await waitReady(kube, target, o.waitMs ?? 300_000);
  } catch (e) {
    upgraded.info.status = 'failed';
    upgraded.info.description = `Upgrade ${JSON.stringify(o.name)} failed: ${/** @type {Error} */ (e).message}`;
    try { await store.update(upgraded); } catch { /* ignored like Helm */ }
    throw e;
  }
  current.info.status = 'superseded';
  // recordRelease: a failed update of the previous revision is only logged (action/action.go).
  try { await store.update(current); } catch (e) { logIgnored('failed to update release', e); }
  upgraded.info.status = 'deployed';
  upgraded.info.description = 'Upgrade complete';
  await store.update(upgraded);
  return upgraded;
}

/** Helm's logger line for an error it carries on after. @param {string} msg @param {unknown} e */
function logIgnored(msg, e) {
  process.stderr.write(`level=ERROR msg=${JSON.stringify(msg)} error=${JSON.stringify(/** @type {Error} */ (e)?.message ?? String(e))}\n`);
}

/**
 * action.Uninstall.Run (without keeping history).
 * @param {Kube} kube @param {{ namespace: string, name: string, wait: boolean, timeoutMs: number }} o
 */
export async function helmUninstall(kube, o) {
  const store = new ReleaseStore(kube, o.namespace);
  let h;
  try {
    h = await store.history(o.name);
  } catch (e) {
    throw new KubeError(`uninstall: Release not loaded: ${o.name}: ${/** @type {Error} */ (e).message}`);
  }
  const rel = h[h.length - 1];
  if (rel.info.status !== 'uninstalled') {
    rel.info.status = 'uninstalling';
    rel.info.deleted = goNow();
    rel.info.description = 'Deletion in progress (or silently failed)';
    try { await store.update(rel); } catch { /* logged at debug level by Helm */ }
    const objects = await parseManifest(rel.manifest ?? '');
    const toDelete = uninstallOrder(objects.filter((x) => x.metadata.annotations?.['helm.sh/resource-policy'] !== 'keep'));
    for (const x of toDelete) {
      try { await kube.delete(x.kind, x.metadata.namespace ?? o.namespace, x.metadata.name, BACKGROUND); } catch (e) { if (!isNotFound(e)) throw new KubeError(`failed to delete release: ${o.name}`); }
    }
    if (o.wait) {
      const deadline = Date.now() + o.timeoutMs;
      for (const x of toDelete) {
        for (;;) {
          try { await kube.get(x.kind, x.metadata.namespace ?? o.namespace, x.metadata.name); } catch (e) { if (isNotFound(e)) break; throw e; }
          if (Date.now() > deadline) throw new KubeError(`uninstallation completed with 1 error(s): timed out waiting for the condition (${formatDuration(o.timeoutMs)})`);
          await sleep(500);
        }
      }
    }
  }
  await store.purge(o.name);
  return rel;
}
