// @ts-check
// Kubernetes access of the stand-in, as client-go does it for cilium-cli:
// kubeconfig loading (--kubeconfig, else every file of KUBECONFIG merged with the
// first file winning, else ~/.kube/config), --context or current-context,
// client-certificate TLS to the server, and client-go's error texts
// (`context "x" does not exist`, `Get "URL": dial tcp ...: connect: connection
// refused`, API Status messages such as `secrets "x" not found`).
// Network rule of the twin: only 127.0.0.0/8 is ever contacted.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isIP } from 'node:net';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */

/** Errors carrying an API Status (or a transport failure). */
export class KubeError extends Error {
  /** @param {string} message @param {number} code @param {string} reason */
  constructor(message, code = 0, reason = '') {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

/** @param {unknown} e */
export const isNotFound = (e) => e instanceof KubeError && e.code === 404;
/** @param {unknown} e */
export const isConflict = (e) => e instanceof KubeError && e.code === 409;
/** @param {unknown} e */
export const isAlreadyExists = (e) => e instanceof KubeError && e.code === 409 && e.reason === 'AlreadyExists';

/** True for IPv4 addresses in 127.0.0.0/8 and "localhost". @param {string} host */
export function isLoopback(host) {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  return isIP(h) === 4 && h.split('.')[0] === '127';
}

/**
 * @typedef {object} RawKubeconfig
 * @property {Map<string, any>} clusters
 * @property {Map<string, any>} users
 * @property {Map<string, any>} contexts
 * @property {string} currentContext
 */

/**
 * Loads and merges kubeconfig files like clientcmd's default loading rules.
 * @param {string} explicitPath --kubeconfig ('' when unset)
 * @returns {Promise<RawKubeconfig>}
 */
export async function loadKubeconfig(explicitPath) {
  /** @type {string[]} */
  let files;
  if (explicitPath) {
    if (!existsSync(explicitPath)) throw new KubeError(`stat ${explicitPath}: no such file or directory`);
    files = [explicitPath];
  } else if (process.env.KUBECONFIG) {
    files = process.env.KUBECONFIG.split(':').filter((f) => f && existsSync(f));
  } else {
    const f = resolve(process.env.HOME || homedir(), '.kube', 'config');
    files = existsSync(f) ? [f] : [];
  }
  /** @type {RawKubeconfig} */
  const raw = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: '' };
  if (files.length === 0) return raw;
  const Y = await import('yaml');
  for (const f of files) {
    let doc;
    try {
      doc = Y.parse(readFileSync(f, 'utf8')) ?? {};
    } catch (e) {
      throw new KubeError(`error loading config file "${f}": ${/** @type {Error} */ (e).message.split('\n')[0]}`);
    }
    const base = dirname(resolve(f));
    for (const c of doc.clusters ?? []) {
      if (c?.name && !raw.clusters.has(c.name)) raw.clusters.set(c.name, { ...(c.cluster ?? {}), _base: base });
    }
    for (const u of doc.users ?? []) {
      if (u?.name && !raw.users.has(u.name)) raw.users.set(u.name, { ...(u.user ?? {}), _base: base });
    }
    for (const c of doc.contexts ?? []) {
      if (c?.name && !raw.contexts.has(c.name)) raw.contexts.set(c.name, c.context ?? {});
    }
    if (!raw.currentContext && doc['current-context']) raw.currentContext = doc['current-context'];
  }
  return raw;
}

/**
 * @typedef {object} ClientConfig
 * @property {string} contextName
 * @property {string} clusterName kubeconfig cluster name of the context ("default" on K3s)
 * @property {string} server
 * @property {string | undefined} ca
 * @property {string | undefined} cert
 * @property {string | undefined} key
 * @property {string | undefined} token
 * @property {boolean} insecure
 * @property {string} [impersonate] --as
 * @property {string[]} [impersonateGroups] --as-group
 */

/**
 * clientcmd DirectClientConfig.ClientConfig for a context.
 * @param {RawKubeconfig} raw @param {string} contextFlag '' for current-context
 * @returns {ClientConfig}
 */
export function resolveContext(raw, contextFlag) {
  const contextName = contextFlag || raw.currentContext;
  const ctx = raw.contexts.get(contextName);
  if (!ctx && contextFlag) throw new KubeError(`context ${JSON.stringify(contextFlag)} does not exist`);
  const clusterName = ctx?.cluster ?? '';
  const cluster = raw.clusters.get(clusterName);
  const user = raw.users.get(ctx?.user ?? '') ?? {};
  if (!ctx && contextName) {
    throw new KubeError(`invalid configuration: [context was not found for specified context: ${contextName}, cluster has no server defined]`);
  }
  if (!ctx || !cluster || !cluster.server) {
    if (!ctx && !contextName) throw new KubeError('invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable');
    if (ctx && !raw.clusters.has(clusterName)) throw new KubeError(`invalid configuration: [cluster ${JSON.stringify(clusterName)} was not found for context ${JSON.stringify(contextName)}]`);
    throw new KubeError('invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable');
  }
  /** @param {any} obj @param {string} dataKey @param {string} fileKey */
  const material = (obj, dataKey, fileKey) => {
    if (obj[dataKey]) return Buffer.from(obj[dataKey], 'base64').toString('utf8');
    if (obj[fileKey]) {
      const p = resolve(obj._base, obj[fileKey]);
      try { return readFileSync(p, 'utf8'); } catch (e) {
        throw new KubeError(`invalid configuration: unable to read ${fileKey} ${obj[fileKey]} due to open ${p}: no such file or directory`);
      }
    }
    return undefined;
  };
  return {
    contextName,
    clusterName,
    server: cluster.server,
    ca: material(cluster, 'certificate-authority-data', 'certificate-authority'),
    cert: material(user, 'client-certificate-data', 'client-certificate'),
    key: material(user, 'client-key-data', 'client-key'),
    token: user.token,
    insecure: !!cluster['insecure-skip-tls-verify'],
  };
}

/** Where a Kubernetes kind lives in the REST API. */
const KINDS = /** @type {Record<string, { prefix: string, plural: string, namespaced: boolean }>} */ ({
  Secret: { prefix: '/api/v1', plural: 'secrets', namespaced: true },
  ConfigMap: { prefix: '/api/v1', plural: 'configmaps', namespaced: true },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Pod: { prefix: '/api/v1', plural: 'pods', namespaced: true },
  Node: { prefix: '/api/v1', plural: 'nodes', namespaced: false },
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  DaemonSet: { prefix: '/apis/apps/v1', plural: 'daemonsets', namespaced: true },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments', namespaced: true },
  Job: { prefix: '/apis/batch/v1', plural: 'jobs', namespaced: true },
  CronJob: { prefix: '/apis/batch/v1', plural: 'cronjobs', namespaced: true },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  RoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  ClusterRole: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  CiliumEndpoint: { prefix: '/apis/cilium.io/v2', plural: 'ciliumendpoints', namespaced: true },
});

/** Group-qualified plural for messages, as the API server writes it ("daemonsets.apps"). @param {string} kind */
export function qualifiedPlural(kind) {
  const k = KINDS[kind];
  const m = /^\/apis\/([^/]+)\//.exec(k.prefix);
  return m ? `${k.plural}.${m[1]}` : k.plural;
}

/**
 * REST path of a kind, namespace and optional name.
 * @param {string} kind @param {string} namespace @param {string} [name]
 */
export function kindPath(kind, namespace, name) {
  const k = KINDS[kind];
  if (!k) throw new Error(`twin cilium: unknown kind ${kind}`);
  let p = k.prefix;
  if (k.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${k.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  return p;
}

/** Go's url.Error op for a method. @param {string} m */
const goOp = (m) => m[0] + m.slice(1).toLowerCase();

export class Kube {
  /** @param {ClientConfig} cfg @param {{ timeoutMs?: number }} [opts] */
  constructor(cfg, opts = {}) {
    this.cfg = cfg;
    this.url = new URL(cfg.server);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    /** @type {import('node:https').Agent | undefined} */
    this.agent = undefined;
  }

  contextName() { return this.cfg.contextName; }
  clusterName() { return this.cfg.clusterName; }

  /** @returns {{ host: string, port: string }} */
  apiServerHostPort() {
    return { host: this.url.hostname.replace(/^\[|\]$/g, ''), port: this.url.port || (this.url.protocol === 'https:' ? '443' : '80') };
  }

  async getAgent() {
    if (!this.agent) {
      const https = await import('node:https');
      this.agent = new https.Agent({
        keepAlive: true,
        ca: this.cfg.ca, cert: this.cfg.cert, key: this.cfg.key,
        rejectUnauthorized: !this.cfg.insecure,
      });
    }
    return this.agent;
  }

  close() { this.agent?.destroy(); }

  /**
   * One HTTP request to the API server, with client-go's retries (GET on connection
   * reset; any verb on 429/5xx with Retry-After).
   * @param {string} method @param {string} path
   * @param {{ body?: any, query?: Record<string, string>, contentType?: string }} [opts]
   * @returns {Promise<any>}
   */
  async request(method, path, opts = {}) {
    const u = new URL(path, this.url);
    for (const [k, v] of Object.entries(opts.query ?? {})) u.searchParams.set(k, v);
    const full = u.toString();
    const hostport = `${this.url.hostname}:${this.url.port || '443'}`;
    if (!isLoopback(this.url.hostname)) {
      throw new KubeError(`${goOp(method)} "${full}": dial tcp ${hostport}: connect: network is unreachable (the twin only reaches 127.0.0.0/8)`);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.once(method, u, opts);
        if ((res.status === 429 || res.status >= 500) && res.retryAfter !== undefined && attempt < 10) {
          await sleep(Math.min(res.retryAfter, 2) * 1000);
          continue;
        }
        return this.decode(method, full, res);
      } catch (e) {
        if (e instanceof KubeError) throw e;
        const code = /** @type {NodeJS.ErrnoException} */ (e).code;
        if (method === 'GET' && (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/.test(String(/** @type {Error} */ (e).message))) && attempt < 10) {
          await sleep(100 * (attempt + 1));
          continue;
        }
        throw new KubeError(transportMessage(method, full, hostport, e));
      }
    }
  }

  /**
   * @param {string} method @param {URL} u @param {{ body?: any, contentType?: string }} opts
   * @returns {Promise<{ status: number, text: string, retryAfter?: number }>}
   */
  async once(method, u, opts) {
    const https = await import('node:https');
    const http = await import('node:http');
    const agent = u.protocol === 'https:' ? await this.getAgent() : undefined;
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json', 'User-Agent': 'cilium-cli/v0.19.7 (twin)' };
    if (body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    // Node sends a DELETE body without chunked encoding: its length must be given.
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    if (this.cfg.token) headers.Authorization = `Bearer ${this.cfg.token}`;
    if (this.cfg.impersonate) headers['Impersonate-User'] = this.cfg.impersonate;
    const mod = u.protocol === 'https:' ? https : http;
    /** @type {Record<string, string | string[]>} */
    const allHeaders = { ...headers };
    if (this.cfg.impersonateGroups?.length) allHeaders['Impersonate-Group'] = this.cfg.impersonateGroups;
    return new Promise((resolveP, reject) => {
      const req = mod.request(u, { method, headers: allHeaders, agent, timeout: this.timeoutMs }, (res) => {
        const chunks = /** @type {Buffer[]} */ ([]);
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          resolveP({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: ra === undefined ? undefined : Number(ra) || 1 });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** @param {string} method @param {string} full @param {{ status: number, text: string }} res */
  decode(method, full, res) {
    /** @type {any} */
    let json;
    try { json = res.text ? JSON.parse(res.text) : undefined; } catch { json = undefined; }
    if (res.status >= 200 && res.status < 300) return json;
    if (json && json.kind === 'Status') {
      throw new KubeError(json.message || `the server responded with the status code ${res.status}`, json.code || res.status, json.reason || '');
    }
    if (res.status === 404) throw new KubeError('the server could not find the requested resource', 404, 'NotFound');
    if (res.status === 415) throw new KubeError(`the server responded with the status code 415 but did not return more information`, 415, 'UnsupportedMediaType');
    if (res.status >= 500) throw new KubeError(`an error on the server (${JSON.stringify(res.text.trim() || 'unknown')}) has prevented the request from succeeding`, res.status, 'InternalError');
    throw new KubeError(`the server responded with the status code ${res.status} but did not return more information`, res.status, '');
  }

  /** @param {string} kind @param {string} ns @param {string} name @returns {Promise<KubeObject>} */
  get(kind, ns, name) { return this.request('GET', kindPath(kind, ns, name)); }

  /**
   * @param {string} kind @param {string} ns '' for all namespaces
   * @param {{ labelSelector?: string }} [opts]
   * @returns {Promise<KubeObject[]>}
   */
  async list(kind, ns, opts = {}) {
    /** @type {Record<string, string>} */
    const query = {};
    if (opts.labelSelector) query.labelSelector = opts.labelSelector;
    const res = await this.request('GET', kindPath(kind, ns), { query });
    return res?.items ?? [];
  }

  /** @param {KubeObject} obj @returns {Promise<KubeObject>} */
  create(obj) {
    return this.request('POST', kindPath(obj.kind, obj.metadata.namespace ?? ''), { body: obj });
  }

  /** @param {KubeObject} obj @returns {Promise<KubeObject>} */
  replace(obj) {
    return this.request('PUT', kindPath(obj.kind, obj.metadata.namespace ?? '', obj.metadata.name), { body: obj });
  }

  /** @param {string} kind @param {string} ns @param {string} name @param {any} [body] */
  delete(kind, ns, name, body) {
    return this.request('DELETE', kindPath(kind, ns, name), body ? { body } : {});
  }

  /** Discovery: GET /version. */
  version() { return this.request('GET', '/version'); }
}

/** Go-like text of a failed request. @param {string} method @param {string} url @param {string} hostport @param {unknown} e */
function transportMessage(method, url, hostport, e) {
  const err = /** @type {NodeJS.ErrnoException} */ (e);
  const op = goOp(method);
  switch (err.code) {
    case 'ECONNREFUSED': return `${op} "${url}": dial tcp ${hostport}: connect: connection refused`;
    case 'ECONNRESET': return `${op} "${url}": read tcp ${hostport}: read: connection reset by peer`;
    case 'ETIMEDOUT': return `${op} "${url}": ${err.message}`;
    case 'EHOSTUNREACH': return `${op} "${url}": dial tcp ${hostport}: connect: no route to host`;
    default:
      if (/certificate|self.signed|unable to verify/i.test(err.message)) return `${op} "${url}": tls: failed to verify certificate: x509: certificate signed by unknown authority`;
      return `${op} "${url}": ${err.message}`;
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A client for a context (cilium-cli's k8s.NewClient).
 * @param {string} contextFlag @param {string} kubeconfigFlag
 * @param {{ as?: string, asGroups?: string[] }} [imp] impersonation (--as, --as-group)
 */
export async function newClient(contextFlag, kubeconfigFlag, imp = {}) {
  const raw = await loadKubeconfig(kubeconfigFlag);
  const cfg = resolveContext(raw, contextFlag);
  if (imp.as) cfg.impersonate = imp.as;
  if (imp.asGroups?.length) cfg.impersonateGroups = imp.asGroups;
  return new Kube(cfg);
}

/**
 * A plain HTTP GET to a 127.x endpoint (the twin's data plane), JSON answer.
 * @param {string} host @param {number} port @param {string} path @param {number} timeoutMs
 * @returns {Promise<any>}
 */
export async function loopbackGetJson(host, port, path, timeoutMs = 2000) {
  if (!isLoopback(host)) {
    throw Object.assign(new Error(`dial tcp ${host}:${port}: connect: network is unreachable (the twin only reaches 127.0.0.0/8)`), { code: 'ENETUNREACH' });
  }
  const http = await import('node:http');
  return new Promise((resolveP, reject) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, agent: false }, (res) => {
      const chunks = /** @type {Buffer[]} */ ([]);
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) { reject(new Error(`unexpected HTTP status ${res.statusCode}`)); return; }
        try { resolveP(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); }
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`dial tcp ${host}:${port}: i/o timeout`), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => {
      const code = /** @type {NodeJS.ErrnoException} */ (e).code;
      if (code === 'ECONNREFUSED') reject(Object.assign(new Error(`dial tcp ${host}:${port}: connect: connection refused`), { code }));
      else reject(e);
    });
  });
}
