// @ts-check
// The Kubernetes API server of one simulated cluster: HTTPS on 127.0.0.1 with
// client-certificate authentication (like K3s), discovery, OpenAPI stubs and the
// REST verbs on the cluster's store. Faults (latency, transient errors) and a
// stopped server can be simulated at runtime; every request is counted and
// kept in a small log for tests.
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from '../kinds/registry.mjs';
import { ApiError, pageNotFound, unauthorized } from '../kinds/errors.mjs';
import { EventHub } from './events.mjs';
import { handleResource } from './resources.mjs';
import {
  resourceList, apiVersions, apiGroupList, apiGroupDoc, aggregatedDiscovery, wantsAggregated, openapiIndex, openapiDoc, openapiV2,
} from './discovery.mjs';
import { readBody, sendJson, sendError } from './http.mjs';
import { serveExec, upgradeError } from './exec.mjs';
import { serveLogs } from './logs.mjs';
import { execModel } from '../agents/index.mjs';
import { keepDefaultServiceAccounts } from '../kinds/admission.mjs';

/** @typedef {import('../types.js').TwinFaults} TwinFaults */
/** @typedef {import('./types.js').RequestLogEntry} RequestLogEntry */
/** @typedef {import('./types.js').ApiServerHandle} ApiServerHandle */

/**
 * @typedef {object} ApiServerOptions
 * @property {string} name cluster name, for logs
 * @property {import('../store/store.mjs').Store} store
 * @property {{ caCert: string, serverCert: string, serverKey: string }} pki
 * @property {string} k3sVersion e.g. v1.33.5+k3s1
 * @property {TwinFaults} [faults] mutable at runtime
 * @property {string} [serviceCidr] default 10.43.0.0/16
 * @property {number} [crdEstablishMs] CRDs created through the API become Established after this long
 * @property {number} [bookmarkMs] period of watch bookmarks (default 60 s)
 * @property {number} [namespaceDeleteMs] a deleted namespace stays Terminating this long (default 100 ms)
 * @property {number} [port] 0 or absent: a free port
 * @property {number} [logSize] requests kept in the log (default 500)
 * @property {boolean} [log] print every request to stderr (default: env TWIN_LOG=1)
 */

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** @param {string} k3sVersion */
function versionInfo(k3sVersion) {
  const m = /^v(\d+)\.(\d+)/.exec(k3sVersion);
  const major = m?.[1] ?? '1';
  const minor = m?.[2] ?? '33';
  return {
    major, minor,
    emulationMajor: major, emulationMinor: minor,
    minCompatibilityMajor: major, minCompatibilityMinor: String(Math.max(0, Number(minor) - 1)),
    gitVersion: k3sVersion,
    gitCommit: 'a0b6d2b0e3c9b1c8f6e0d2b9b0e0c6a1f4c2d7e5',
    gitTreeState: 'clean',
    buildDate: '2025-09-10T10:00:00Z',
    goVersion: 'go1.24.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/**
 * Creates and starts an API server.
 * @param {ApiServerOptions} o
 * @returns {Promise<ApiServerHandle>}
 */
export async function startApiServer(o) {
  const store = o.store;
  const registry = new Registry(store);
  const hub = new EventHub(store);
  // kube-controller-manager's serviceaccount controller, part of the control plane here.
  const stopSaController = keepDefaultServiceAccounts(store);
  /** @type {TwinFaults} */
  const faults = o.faults ?? { latencyMs: 0, errorRate: 0 };
  const logSize = o.logSize ?? 500;
  const printLog = o.log ?? process.env.TWIN_LOG === '1';
  /** @type {RequestLogEntry[]} */
  let log = [];
  /** @type {{ requests: number, reads: number, writes: number, dryRuns: number, byMethod: Record<string, number> }} */
  let stats = { requests: 0, reads: 0, writes: 0, dryRuns: 0, byMethod: {} };
  let faultToggle = false;
  /** What runs in an exec'd container (twin/agents; attachAgents gives it the whole twin). */
  let exec = execModel({ store, k3sVersion: o.k3sVersion });
  /** @type {import('./resources.mjs').Ctx} */
  const ctx = {
    store, registry, hub,
    serviceCidr: o.serviceCidr ?? '10.43.0.0/16',
    crdEstablishMs: o.crdEstablishMs ?? 0,
    namespaceDeleteMs: o.namespaceDeleteMs ?? 100,
    bookmarkMs: o.bookmarkMs ?? 60_000,
    openWatches: new Set(),
    timers: new Set(),
  };
  let port = o.port ?? 0;
  /** @type {https.Server | null} */
  let server = null;
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  /** @type {Set<RequestLogEntry>} */
  const open = new Set();

  /** @param {RequestLogEntry} e */
  const record = (e) => {
    log.push(e);
    if (log.length > logSize) log = log.slice(-logSize);
    if (printLog) {
      process.stderr.write(`[twin ${o.name}] ${e.method} ${e.path}${e.query ? `?${e.query}` : ''} ${e.status}${e.fault ? ` (${e.fault})` : ''} ${e.ms}ms${e.contentType ? ` [${e.contentType}]` : ''}\n`);
    }
  };

  /**
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   */
  async function handle(req, res) {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    /** @type {RequestLogEntry} */
    const entry = { time: new Date(started).toISOString(), method, path: url.pathname, query: url.search.slice(1), status: 0, ms: 0 };
    if (req.headers['content-type']) entry.contentType = String(req.headers['content-type']);
    open.add(entry);
    res.on('close', () => {
      open.delete(entry);
      entry.status = res.headersSent ? res.statusCode : 0;
      entry.ms = Date.now() - started;
      record(entry);
    });
    let raw = /** @type {Buffer} */ (Buffer.alloc(0));
    try {
      raw = await readBody(req);
    } catch (e) {
      stats.requests++;
      return sendError(res, e);
    }
    // What counts: every request that reaches the server, whatever its outcome
    // (also when a fault or a failed authentication ends it). A write is a POST,
    // PUT, PATCH or DELETE that is not a dry run (dryRun=All in the query, or in
    // a DELETE's DeleteOptions body); a mutating dry run counts as dryRun; every
    // other request (GET, watch, discovery, OpenAPI, HEAD) is a read.
    stats.requests++;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    if (MUTATING.has(method)) {
      let dry = url.searchParams.getAll('dryRun').includes('All');
      if (!dry && method === 'DELETE' && raw.length) {
        try { dry = (JSON.parse(raw.toString('utf8'))?.dryRun ?? []).includes('All'); } catch { /* not JSON */ }
      }
      if (dry) stats.dryRuns++;
      else stats.writes++;
    } else {
      stats.reads++;
    }
    const socket = /** @type {import('node:tls').TLSSocket} */ (req.socket);
    if (!socket.authorized) return sendError(res, unauthorized());
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults.failWhen?.(method, url.pathname)) {
      entry.fault = 'error';
      return sendError(res, new ApiError(500, 'InternalError', 'Internal error occurred: injected fault (twin failWhen)'));
    }
    if (faults.errorRate > 0 && (!faults.userAgent || faults.userAgent.test(String(req.headers['user-agent'] ?? ''))) && Math.random() < faults.errorRate) {
      faultToggle = !faultToggle;
      if (faultToggle) {
        entry.fault = 'error';
        return sendError(res, new ApiError(500, 'InternalError', 'Internal error occurred: injected fault (twin errorRate)', {
          causes: [{ reason: '', message: 'injected fault (twin errorRate)', field: '' }],
        }));
      }
      entry.fault = 'drop';
      req.socket.destroy();
      return;
    }
    try {
      route(req, res, url, raw);
    } catch (e) {
      if (!(e instanceof ApiError) && printLog) process.stderr.write(`[twin ${o.name}] ${/** @type {Error} */ (e)?.stack ?? e}\n`);
      sendError(res, e);
    }
  }

  /**
   * @param {import('node:http').IncomingMessage} req
   * @param {import('node:http').ServerResponse} res
   * @param {URL} url
   * @param {Buffer} raw
   */
  function route(req, res, url, raw) {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const accept = String(req.headers.accept ?? '');
    const method = req.method ?? 'GET';
    const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (path === '/version') return sendJson(res, 200, versionInfo(o.k3sVersion));
    if (/^\/(healthz|livez|readyz)(\/.*)?$/.test(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      return res.end('ok');
    }
    if (segs[0] === 'openapi') {
      if (segs[1] === 'v2' && segs.length === 2) {
        const doc = openapiV2(accept, o.k3sVersion);
        res.writeHead(200, { 'Content-Type': doc.contentType, 'Content-Length': doc.body.length });
        return res.end(doc.body);
      }
      if (segs[1] === 'v3' && segs.length === 2) return sendJson(res, 200, openapiIndex(registry));
      if (segs[1] === 'v3') {
        const doc = openapiDoc(registry, segs.slice(2).join('/'));
        if (doc) return sendJson(res, 200, doc);
      }
      throw pageNotFound();
    }
    if (method === 'GET' && (path === '/api' || path === '/apis')) {
      const agg = wantsAggregated(accept);
      if (agg) {
        return sendJson(res, 200, aggregatedDiscovery(registry, path === '/api', agg), {
          'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
          Vary: 'Accept',
        });
      }
      return sendJson(res, 200, path === '/api' ? apiVersions(port) : apiGroupList(registry), { Vary: 'Accept' });
    }
    /** @type {{ group: string, version: string, rest: string[] } | undefined} */
    let gv;
    if (segs[0] === 'api' && segs[1] === 'v1') gv = { group: '', version: 'v1', rest: segs.slice(2) };
    else if (segs[0] === 'apis' && segs.length >= 2) {
      if (segs.length === 2) {
        const doc = apiGroupDoc(registry, segs[1]);
        if (doc && method === 'GET') return sendJson(res, 200, doc);
        throw pageNotFound();
      }
      gv = { group: segs[1], version: segs[2], rest: segs.slice(3) };
    }
    if (!gv || !registry.hasGroupVersion(gv.group, gv.version)) throw pageNotFound();
    const rest = gv.rest;
    if (rest.length === 0) {
      if (method !== 'GET') throw pageNotFound();
      return sendJson(res, 200, resourceList(registry, gv.group, gv.version));
    }
    /** @type {import('./resources.mjs').Route} */
    let r;
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && ['status', 'finalize'].includes(rest[2]))) {
      if (rest.length > 5) throw pageNotFound();
      r = { group: gv.group, version: gv.version, namespace: rest[1], plural: rest[2], name: rest[3], sub: rest[4] };
    } else {
      if (rest.length > 3) throw pageNotFound();
      r = { group: gv.group, version: gv.version, plural: rest[0], name: rest[1], sub: rest[2] };
    }
    if (!gv.group && r.plural === 'pods' && r.namespace && r.name && r.sub) {
      if (r.sub === 'log') return serveLogs(ctx, r.namespace, r.name, req, res, url.searchParams);
      if (['exec', 'attach', 'portforward'].includes(r.sub)) throw new ApiError(400, 'BadRequest', 'Upgrade request required');
    }
    const done = handleResource(ctx, r, req, res, url.searchParams, raw);
    return done;
  }

  /**
   * An upgrade request (pods/exec over WebSocket or SPDY): authenticated, counted
   * (as a read: it changes nothing stored, whatever its verb) and logged like any request.
   * @param {import('node:http').IncomingMessage} req @param {import('node:stream').Duplex} socket @param {Buffer} head
   */
  async function onUpgrade(req, socket, head) {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    /** @type {RequestLogEntry} */
    const entry = { time: new Date(started).toISOString(), method, path: url.pathname, query: url.search.slice(1), status: 0, ms: 0 };
    open.add(entry);
    socket.on('error', () => {});
    socket.once('close', () => { open.delete(entry); entry.ms = Date.now() - started; record(entry); });
    stats.requests++;
    stats.reads++;
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    if (!(/** @type {import('node:tls').TLSSocket} */ (socket)).authorized) { entry.status = upgradeError(socket, unauthorized()); return; }
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec\/?$/.exec(url.pathname);
    if (!m) { entry.status = upgradeError(socket, pageNotFound()); return; }
    entry.status = serveExec(store, exec, req, socket, head, { namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]) }, url.searchParams);
  }

  async function listen() {
    if (server) return;
    const s = https.createServer({
      key: o.pki.serverKey,
      cert: o.pki.serverCert,
      ca: o.pki.caCert,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    }, (req, res) => { handle(req, res).catch((e) => sendError(res, e)); });
    s.on('upgrade', (req, socket, head) => { onUpgrade(req, socket, head).catch((e) => upgradeError(socket, e)); });
    s.keepAliveTimeout = 60_000;
    s.on('connection', (/** @type {import('node:net').Socket} */ sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    s.on('tlsClientError', () => { /* clients that go away mid-handshake */ });
    await new Promise((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve(undefined);
      });
    });
    const addr = s.address();
    if (addr && typeof addr === 'object') port = addr.port;
    server = s;
  }

  async function stop() {
    const s = server;
    if (!s) return;
    server = null;
    for (const close of [...ctx.openWatches]) close();
    const closed = new Promise((resolve) => s.close(() => resolve(undefined)));
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    await closed;
  }

  await listen();

  /** @type {ApiServerHandle} */
  const handle_ = {
    get url() { return `https://127.0.0.1:${port}`; },
    get port() { return port; },
    get running() { return server !== null; },
    faults,
    stop,
    setExecModel(model) { exec = model; },
    async start() {
      // The port was free a moment ago; on a busy machine another process may
      // grab it in between: retry briefly rather than move to another port.
      for (let i = 0; ; i++) {
        try {
          await listen();
          return;
        } catch (e) {
          if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EADDRINUSE' || i >= 20) throw e;
          await sleep(100);
        }
      }
    },
    stats() {
      return { ...stats, byMethod: { ...stats.byMethod } };
    },
    resetStats() {
      stats = { requests: 0, reads: 0, writes: 0, dryRuns: 0, byMethod: {} };
    },
    requests() {
      return log.map((e) => ({ ...e }));
    },
    inFlight() {
      return [...open].map((e) => ({ ...e }));
    },
    clearRequests() {
      log = [];
    },
    async close() {
      await stop();
      for (const t of ctx.timers) clearTimeout(t);
      ctx.timers.clear();
      hub.close();
      registry.close();
      stopSaController();
    },
  };
  return handle_;
}
