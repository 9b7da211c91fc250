// @ts-check
// The data plane of the twin: real HTTP listeners where the clusters would
// answer on the network.
// - An echo listener on each announced LoadBalancer IP (always 127.x) and port
//   of a Service; a request is routed as Cilium would (echo.mjs) and answered
//   with the serving pod's web-echo page, or the connection is reset when there
//   is no backend.
// - The clustermesh-apiserver endpoint of each cluster (its LoadBalancer IP
//   while announced, or every node IP on the NodePort), while the
//   clustermesh-apiserver Deployment is ready. It answers
//   GET /twin/clustermesh with {clusterName, clusterId, caFingerprint, ready, remotes}
//   over plain HTTP, where a real one speaks etcd over TLS.
// Two clusters asking for one IP:port: the first binds, the other is logged
// (an ARP conflict on a real LAN). Nothing outside 127.0.0.0/8 is ever bound.
// An address this twin must serve that another process holds (EADDRINUSE) is
// fatal: the data plane stops and says who holds it, rather than carry on with
// a VIP or mesh endpoint that is someone else's.
// Listeners follow store events within a few milliseconds. While an IP is
// announced, the Lease kube-system/cilium-l2announce-<ns>-<svc> names the
// announcing node, as Cilium's L2 announcer keeps it.
import http from 'node:http';
import { KUBE_SYSTEM, Debouncer, ciliumConfig, isLoopback } from '../controllers/util.mjs';
import { caFingerprint, configuredRemotes, meshState, setServedBy } from '../controllers/mesh.mjs';
import { planListeners, l2Announcement } from './plan.mjs';
import { clusterName, echoPage, selectBackends } from './echo.mjs';
import { holderOf } from '../port-holder.mjs';

/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinKey} TwinKey */
/** @typedef {import('./plan.mjs').PlannedListener} PlannedListener */
/** @typedef {import('../controllers/mesh.mjs').MeshState} MeshState */

/**
 * @typedef {{
 *   stop(): Promise<void>,
 *   listeners(): PlannedListener[],
 *   servedBy(ip: string, port: number): TwinKey | undefined,
 *   settle(): Promise<void>,
 * }} DataplaneHandle
 */

const LEASES = 'coordination.k8s.io/leases';
const LEASE_PREFIX = 'cilium-l2announce-';

/**
 * @param {Twin} twin
 * @param {{ onFatal?: (err: Error) => void }} [o] told once when an address to serve is taken (default: stderr)
 * @returns {Promise<DataplaneHandle>}
 */
export async function startDataplane(twin, o = {}) {
  const dp = new Dataplane(twin, o.onFatal ?? ((err) => console.error(`[twin dataplane] ${err.message}`)));
  await dp.settle();
  return {
    stop: () => dp.stop(),
    listeners: () => dp.listeners(),
    servedBy: (ip, port) => dp.servedBy(ip, port),
    settle: () => dp.settle(),
  };
}

/** @param {PlannedListener} l */
const ownerOf = (l) => `${l.cluster}|${l.kind}|${l.service}`;

/** MicroTime, as Lease times are written. */
const microNow = () => new Date().toISOString().replace(/(\.\d{3})Z$/, '$1000Z');

class Dataplane {
  /** @param {Twin} twin @param {(err: Error) => void} onFatal */
  constructor(twin, onFatal) {
    this.twin = twin;
    this.onFatal = onFatal;
    /** @type {Error | undefined} */
    this.failure = undefined;
    /** @type {Map<string, { entry: PlannedListener, server: http.Server, sockets: Set<import('node:net').Socket> }>} */
    this.open = new Map();
    /** @type {Set<string>} lines already logged */
    this.logged = new Set();
    /** @type {Map<string, number>} round-robin counters */
    this.rr = new Map();
    this.stopped = false;
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    this.pending = false;
    this.debouncer = new Debouncer(() => this.enqueue(), () => 0);
    this.onEvent = () => this.debouncer.kick();
    for (const c of Object.values(twin.clusters)) c.store.on('event', this.onEvent);
    setServedBy(twin, (ip, port) => this.servedBy(ip, port));
    this.enqueue();
  }

  enqueue() {
    this.pending = true;
    this.chain = this.chain.then(async () => {
      this.pending = false;
      if (this.stopped) return;
      try {
        await this.reconcile();
      } catch (err) {
        console.error('[twin dataplane] reconcile failed:', err);
      }
    });
  }

  /** Resolves once no reconcile is pending. */
  async settle() {
    for (let i = 0; i < 1000; i++) {
      await this.chain;
      if (!this.pending && !this.debouncer.timer) return;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** @param {string} line */
  log(line) {
    if (this.logged.has(line)) return;
    this.logged.add(line);
    console.warn(`[twin dataplane] ${line}`);
  }

  listeners() {
    return [...this.open.values()].map((l) => ({ ...l.entry }));
  }

  /** @param {string} ip @param {number} port @returns {TwinKey | undefined} */
  servedBy(ip, port) {
    const l = this.open.get(`${ip}:${port}`);
    return l?.entry.kind === 'clustermesh' ? l.entry.cluster : undefined;
  }

  async reconcile() {
    const plan = planListeners(this.twin);
    /** @type {Map<string, PlannedListener[]>} */
    const wanted = new Map();
    for (const l of plan) {
      const key = `${l.ip}:${l.port}`;
      const list = wanted.get(key) ?? [];
      if (!list.some((x) => ownerOf(x) === ownerOf(l))) list.push(l);
      wanted.set(key, list);
    }

    // Close what is no longer wanted, or wanted by someone else only.
    for (const [key, l] of [...this.open]) {
      const candidates = wanted.get(key) ?? [];
      const same = candidates.find((c) => ownerOf(c) === ownerOf(l.entry));
      if (same) { l.entry = same; continue; }
      await this.close(key);
    }

    for (const [key, candidates] of wanted) {
      if (this.stopped) return;
      let holder = this.open.get(key)?.entry;
      if (!holder) {
        const first = candidates[0];
        if (!isLoopback(first.ip)) {
          this.log(`refusing to listen on ${key} for ${first.service} in cluster ${first.cluster}: only 127.0.0.0/8 is allowed`);
          continue;
        }
        if (await this.bind(key, first)) holder = first;
      }
      for (const c of candidates) {
        if (holder && c.cluster !== holder.cluster) {
          this.log(`${key} is announced by cluster ${holder.cluster} (${holder.service}) and cluster ${c.cluster} (${c.service}): ` +
            `ARP conflict, cluster ${holder.cluster} answers`);
        }
      }
    }
    this.syncLeases();
  }

  /** @param {string} key @param {PlannedListener} entry */
  async bind(key, entry) {
    const sockets = new Set();
    const server = http.createServer((req, res) => this.serve(key, req, res));
    server.keepAliveTimeout = 2000;
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    const ok = await new Promise((resolve) => {
      server.once('error', (err) => {
        if (/** @type {NodeJS.ErrnoException} */ (err).code === 'EADDRINUSE') {
          this.fail(new Error(`cannot serve ${key} (${entry.service} of cluster ${entry.cluster}): ` +
            `the address is in use by ${holderOf(entry.ip, entry.port)}; the twin's data plane stops`));
          resolve(false);
          return;
        }
        this.log(`cannot listen on ${key} for ${entry.service} in cluster ${entry.cluster}: ${/** @type {Error} */ (err).message}`);
        resolve(false);
      });
      server.listen({ host: entry.ip, port: entry.port, exclusive: true }, () => resolve(true));
    });
    if (!ok) return false;
    if (this.stopped) {
      server.close();
      return false;
    }
    this.open.set(key, { entry, server, sockets });
    // A failure logged before may happen again after this listener goes away.
    for (const line of [...this.logged]) if (line.startsWith(`cannot listen on ${key} `)) this.logged.delete(line);
    return true;
  }

  /** Stops for good and tells the owner, once. @param {Error} err */
  fail(err) {
    if (this.failure) return;
    this.failure = err;
    this.onFatal(err);
    void this.stop();
  }

  /** @param {string} key */
  async close(key) {
    const l = this.open.get(key);
    if (!l) return;
    this.open.delete(key);
    for (const line of [...this.logged]) if (line.startsWith(`${key} is announced`)) this.logged.delete(line);
    await new Promise((resolve) => {
      l.server.close(() => resolve(undefined));
      l.server.closeAllConnections();
      for (const s of l.sockets) s.destroy();
    });
  }

  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.debouncer.stop();
    for (const c of Object.values(this.twin.clusters)) c.store.off('event', this.onEvent);
    setServedBy(this.twin, undefined);
    await this.chain;
    await Promise.all([...this.open.keys()].map((k) => this.close(k)));
  }

  /**
   * @param {string} key
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  serve(key, req, res) {
    const l = this.open.get(key);
    if (!l) { req.socket.destroy(); return; }
    if (l.entry.kind === 'clustermesh') { this.serveClustermesh(l.entry, req, res); return; }
    const { cluster, service } = l.entry;
    const [ns, name] = service.split('/');
    const svc = this.twin.clusters[cluster].store.get('/services', ns, name);
    if (!svc) { req.socket.destroy(); return; }
    /** @type {MeshState | undefined} */
    let mesh;
    const { backends } = selectBackends(this.twin, cluster, svc, () => (mesh ??= meshState(this.twin, {
      servedBy: (ip, port) => this.servedBy(ip, port),
    })));
    if (!backends.length) {
      // No backend: Cilium drops the packet / answers with a reset; the client's request fails.
      req.socket.destroy();
      return;
    }
    const n = this.rr.get(service + cluster) ?? 0;
    this.rr.set(service + cluster, n + 1);
    const b = backends[n % backends.length];
    const image = String(b.pod.spec?.containers?.[0]?.image ?? '');
    const body = echoPage(image);
    res.writeHead(200, {
      'Content-Type': 'text/html',
      'Content-Length': Buffer.byteLength(body),
      'X-Twin-Cluster': clusterName(this.twin, b.cluster),
      'X-Twin-Pod': `${b.pod.metadata.namespace}/${b.pod.metadata.name}`,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /**
   * @param {PlannedListener} entry
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  serveClustermesh(entry, req, res) {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (/** @type {number} */ code, /** @type {unknown} */ obj) => {
      const body = `${JSON.stringify(obj)}\n`;
      res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' || url.pathname !== '/twin/clustermesh') {
      send(404, { error: 'not found: this is a clustermesh-apiserver (etcd) endpoint; GET /twin/clustermesh' });
      return;
    }
    const store = this.twin.clusters[entry.cluster].store;
    const cfg = ciliumConfig(store) ?? {};
    const id = Number(cfg['cluster-id']);
    send(200, {
      clusterName: cfg['cluster-name'] ?? '',
      clusterId: Number.isFinite(id) ? id : 0,
      caFingerprint: caFingerprint(store) ?? '',
      ready: true,
      remotes: configuredRemotes(store).map((r) => r.name),
    });
  }

  /** Leases of the L2 announcer: one per announced LoadBalancer Service, per cluster. */
  syncLeases() {
    for (const cluster of Object.values(this.twin.clusters)) {
      const store = cluster.store;
      /** @type {Map<string, string>} lease name -> holder */
      const want = new Map();
      for (const svc of store.list('/services')) {
        if (svc.spec?.type !== 'LoadBalancer' || !(svc.status?.loadBalancer?.ingress ?? []).length) continue;
        const a = l2Announcement(cluster, svc);
        if (a.announced && a.node) want.set(`${LEASE_PREFIX}${svc.metadata.namespace}-${svc.metadata.name}`, a.node);
      }
      for (const lease of store.list(LEASES, KUBE_SYSTEM)) {
        const name = lease.metadata.name;
        if (!name.startsWith(LEASE_PREFIX)) continue;
        const holder = want.get(name);
        if (!holder) {
          store.delete(LEASES, KUBE_SYSTEM, name);
        } else if (lease.spec?.holderIdentity !== holder) {
          const now = microNow();
          lease.spec = { ...lease.spec, holderIdentity: holder, acquireTime: now, renewTime: now,
            leaseTransitions: Number(lease.spec?.leaseTransitions ?? 0) + 1 };
          store.update(LEASES, lease);
        }
        want.delete(name);
      }
      for (const [name, holder] of want) {
        const now = microNow();
        store.create(LEASES, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace: KUBE_SYSTEM },
          spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        });
      }
    }
  }
}
