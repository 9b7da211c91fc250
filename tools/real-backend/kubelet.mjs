// @ts-check
// What answers for the kubelets of a real-backend cluster when the API server
// forwards an exec: one HTTPS listener per node InternalIP (on loopback), its
// port published as the node's kubelet endpoint, serving the kubelet's
// /exec/{namespace}/{pod}/{container} over SPDY/3.1 with the twin's exec
// server (twin/server/exec.mjs) and agent exec model. The API server talks
// SPDY to a kubelet whatever its client spoke (it translates WebSocket), and,
// with no --kubelet-certificate-authority, does not verify the kubelet's
// certificate. The pod is read from the API server at each exec, so a pod
// just made is found. kwok plays the rest of the kubelet (tools/real-backend/kwok.mjs);
// its own Exec resources run commands on the host, where the agent's
// `cilium` and `/usr/bin/clustermesh-apiserver` do not exist.
import { createServer } from 'node:https';
import { adminGet } from './apiserver.mjs';
import { freePort } from './procs.mjs';
import { serveExec, upgradeError } from '../../twin/server/exec.mjs';
import { ApiError } from '../../twin/kinds/errors.mjs';

/** The kubelet's query names for the streams, as the API server sends them, and the pods/exec ones. */
const STREAMS = /** @type {const} */ ([['input', 'stdin'], ['output', 'stdout'], ['error', 'stderr'], ['tty', 'tty']]);

/**
 * The pods/exec query of a kubelet /exec request: its container from the path,
 * its streams renamed.
 * @param {URLSearchParams} kubelet @param {string} container
 */
export function podsExecQuery(kubelet, container) {
  const q = new URLSearchParams();
  for (const c of kubelet.getAll('command')) q.append('command', c);
  for (const [from, to] of STREAMS) if (kubelet.has(from)) q.set(to, String(kubelet.get(from)));
  q.set('container', container);
  return q;
}

/**
 * @typedef {object} Kubelets
 * @property {Record<string, number>} ports the kubelet port of each node IP
 * @property {() => Promise<void>} stop
 */

/**
 * Starts a kubelet exec listener on each of `ips`.
 * @param {{ server: string, pki: import('../../twin/pki.mjs').ClusterPki, ips: string[],
 *   model: () => import('../../twin/server/exec.mjs').ExecModel, log?: (line: string) => void }} o
 *   model: the exec model at the time of the exec (the mirror may start after the kubelets)
 * @returns {Promise<Kubelets>}
 */
export async function startKubelets(o) {
  const log = o.log ?? (() => {});
  /** @type {Record<string, number>} */
  const ports = {};
  /** @type {import('node:https').Server[]} */
  const servers = [];
  for (const ip of o.ips) {
    const port = await freePort(ip);
    const server = createServer({ cert: o.pki.serverCert, key: o.pki.serverKey }, (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n'); // only exec is served
    });
    server.on('upgrade', (req, socket, head) => {
      serve(o, req, socket, head).catch((e) => {
        log(`kubelet ${ip}: ${/** @type {Error} */ (e).message}`);
        upgradeError(socket, e);
      });
    });
    await new Promise((resolve, reject) => server.once('error', reject).listen(port, ip, () => resolve(undefined)));
    ports[ip] = port;
    servers.push(server);
  }
  return {
    ports,
    async stop() {
      await Promise.all(servers.map((s) => new Promise((r) => { s.close(() => r(undefined)); s.closeAllConnections(); })));
    },
  };
}

/**
 * One /exec request: the pod from the API server, then the twin's exec server.
 * @param {{ server: string, pki: import('../../twin/pki.mjs').ClusterPki, model: () => import('../../twin/server/exec.mjs').ExecModel }} o
 * @param {import('node:http').IncomingMessage} req @param {import('node:stream').Duplex} socket @param {Buffer} head
 */
async function serve(o, req, socket, head) {
  const url = new URL(req.url ?? '/', 'https://kubelet');
  const m = /^\/exec\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (!m) throw new ApiError(404, 'NotFound', `the kubelet stand-in serves only /exec, not ${url.pathname}`);
  const [namespace, name, container] = m.slice(1).map(decodeURIComponent);
  const r = await adminGet(o.server, o.pki, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
  const pod = r.status === 200 ? JSON.parse(r.body) : undefined;
  if (r.status !== 200 && r.status !== 404) throw new Error(`GET pod ${namespace}/${name}: HTTP ${r.status}`);
  const store = /** @type {import('../../twin/store/store.mjs').Store} */ (/** @type {unknown} */ ({ get: () => pod }));
  serveExec(store, o.model(), req, socket, head, { namespace, name }, podsExecQuery(url.searchParams, container));
}
