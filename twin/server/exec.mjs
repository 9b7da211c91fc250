// @ts-check
// pods/exec as the API server (and the kubelet behind it) answer it: the checks
// before the upgrade (pod, container, node, running), then the streaming
// protocol over WebSocket (v5.channel.k8s.io, also v4): one binary message per
// write, its first byte the channel (0 stdin, 1 stdout, 2 stderr, 3 error,
// 4 resize; v5's 255 closes a channel: [255, 0] ends stdin). The error channel
// carries a metav1.Status at the end: Success, or Failure with reason
// NonZeroExitCode and the exit code in details.causes. What runs is the twin's
// model of the container (twin/agents). Or over SPDY/3.1 (spdy.mjs), which
// client-go's SPDY executor uses and the real cilium CLI tries first: one SPDY
// stream per channel, the Status on the error stream.
import { EventEmitter } from 'node:events';
import { acceptKey, WsConn } from './websocket.mjs';
import { SpdySession } from './spdy.mjs';
import { ApiError, badRequest } from '../kinds/errors.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */

export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/**
 * @typedef {object} ExecTarget
 * @property {string} namespace
 * @property {KubeObject} pod
 * @property {string} container
 * @property {string[]} command
 * @property {boolean} tty
 */

/**
 * @typedef {object} ExecIo
 * @property {AsyncIterable<Buffer>} stdin ends at once when the client asked for no stdin
 * @property {(data: Buffer | string) => void} stdout
 * @property {(data: Buffer | string) => void} stderr
 * @property {AbortSignal} signal aborted when the client goes away
 */

/** What runs a command in a container: resolves to the exit code. @typedef {(t: ExecTarget, io: ExecIo) => Promise<number>} ExecModel */

/** The kubelet's answer for a container that does not run (404, plain text). */
export class ContainerNotRunning extends Error {}

/**
 * The checks of the pod exec REST handler and the kubelet, in their order.
 * @param {import('../store/store.mjs').Store} store @param {string} ns @param {string} name @param {URLSearchParams} q
 * @returns {ExecTarget}
 */
export function execTarget(store, ns, name, q) {
  const pod = store.get('/pods', ns, name);
  if (!pod) throw new ApiError(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
  const command = q.getAll('command');
  const streams = ['stdin', 'stdout', 'stderr'].filter((s) => q.get(s) === 'true' || q.get(s) === '1');
  if (streams.length === 0) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (command.length === 0) throw badRequest('you must specify at least one command for the container');
  const container = podContainer(pod, name, q.get('container'));
  if (!pod.spec?.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const cs = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]
    .find((/** @type {any} */ c) => c.name === container);
  if (!cs?.state?.running) {
    throw new ContainerNotRunning(`container not found (${JSON.stringify(container)})`);
  }
  return { namespace: ns, pod, container, command, tty: q.get('tty') === 'true' || q.get('tty') === '1' };
}

/**
 * The container a pods/exec or pods/log request names, checked as the API
 * server does: none named is fine only for a pod of one container.
 * @param {any} pod @param {string} name @param {string | null} requested
 * @returns {string}
 */
export function podContainer(pod, name, requested) {
  const containers = (pod.spec?.containers ?? []).map((/** @type {any} */ c) => String(c.name));
  const inits = (pod.spec?.initContainers ?? []).map((/** @type {any} */ c) => String(c.name));
  if (!requested) {
    if (containers.length === 1) return containers[0];
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : ''}`);
  }
  if (!containers.includes(requested) && !inits.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** An HTTP answer written on the raw socket of an upgrade request. @param {import('node:stream').Duplex} socket @param {number} code @param {string} type @param {string} body */
function rawAnswer(socket, code, type, body) {
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[code] ?? 'Error';
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: ${type}\r\nCache-Control: no-cache, private\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  return code;
}

/** An ApiError (as a Status) or any other error on an upgrade socket. @param {import('node:stream').Duplex} socket @param {unknown} e */
export function upgradeError(socket, e) {
  if (e instanceof ApiError) return rawAnswer(socket, e.code, 'application/json', JSON.stringify(e.toStatus()));
  if (e instanceof ContainerNotRunning) return rawAnswer(socket, 404, 'text/plain; charset=utf-8', e.message);
  return rawAnswer(socket, 500, 'application/json', JSON.stringify(new ApiError(500, 'InternalError', `Internal error occurred: ${/** @type {Error} */ (e)?.message ?? e}`).toStatus()));
}

/** stdin as an async iterable fed by the connection. */
class Inbox extends EventEmitter {
  constructor() {
    super();
    /** @type {Buffer[]} */
    this.queue = [];
    this.ended = false;
  }
  /** @param {Buffer} b */
  push(b) { if (!this.ended) { this.queue.push(b); this.emit('more'); } }
  end() { this.ended = true; this.emit('more'); }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      while (this.queue.length) yield /** @type {Buffer} */ (this.queue.shift());
      if (this.ended) return;
      await new Promise((resolve) => this.once('more', resolve));
    }
  }
}

/** The Status of the error channel for an exit code. @param {number} code @param {string[]} command */
export function exitStatus(code, command) {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {}, status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/**
 * Serves an exec upgrade request; answers the HTTP status for the request log.
 * @param {import('../store/store.mjs').Store} store @param {ExecModel} model
 * @param {import('node:http').IncomingMessage} req @param {import('node:stream').Duplex} socket @param {Buffer} head
 * @param {{ namespace: string, name: string }} route @param {URLSearchParams} q
 * @returns {number}
 */
export function serveExec(store, model, req, socket, head, route, q) {
  /** @type {ExecTarget} */
  let target;
  try { target = execTarget(store, route.namespace, route.name, q); } catch (e) { return upgradeError(socket, e); }
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'spdy/3.1') return serveSpdy(model, target, req, socket, head, q);
  if (upgrade !== 'websocket') return rawAnswer(socket, 400, 'text/plain; charset=utf-8', `unable to upgrade: unknown protocol ${req.headers.upgrade}`);
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const protocol = CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
  const key = req.headers['sec-websocket-key'];
  if (!protocol || !key) {
    return rawAnswer(socket, 400, 'text/plain; charset=utf-8', `unable to upgrade: no supported subprotocol among [${offered.join(' ')}] (want one of ${CHANNEL_PROTOCOLS.join(', ')})`);
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(String(key))}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
  const ws = new WsConn(socket, { head });
  const inbox = new Inbox();
  if (!flag(q, 'stdin')) inbox.end();
  const gone = new AbortController();
  ws.on('message', (/** @type {Buffer} */ m) => {
    if (m.length === 0) return;
    if (m[0] === 0) inbox.push(m.subarray(1));
    else if (m[0] === 255 && m[1] === 0 && protocol === 'v5.channel.k8s.io') inbox.end();
    // 4 (resize) needs no answer: the twin's commands draw no screen.
  });
  ws.on('close', () => { inbox.end(); gone.abort(); });
  /** @param {number} ch @param {Buffer | string} data */
  const send = (ch, data) => {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (b.length) ws.send(Buffer.concat([Buffer.from([ch]), b]));
  };
  runModel(model, target, { stdin: inbox, stdout: (d) => send(1, d), stderr: (d) => send(target.tty ? 1 : 2, d), signal: gone.signal })
    .then((status) => send(3, JSON.stringify(status)))
    .finally(() => ws.close(1000));
  return 101;
}

/** @param {URLSearchParams} q @param {string} name */
const flag = (q, name) => q.get(name) === 'true' || q.get(name) === '1';

/**
 * Runs the model; resolves to the error channel's Status.
 * @param {ExecModel} model @param {ExecTarget} target @param {ExecIo} io
 */
async function runModel(model, target, io) {
  try {
    return exitStatus(await model(target, io), target.command);
  } catch (e) {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${/** @type {Error} */ (e)?.message ?? e}`).toStatus();
  }
}

/** Subprotocols over SPDY, preferred first (v5 adds nothing over SPDY that the twin needs). */
const SPDY_PROTOCOLS = ['v4.channel.k8s.io', 'v5.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io'];

/**
 * pods/exec over SPDY/3.1: the client opens one stream per channel (header
 * streamtype: error, stdin, stdout, stderr, resize); once those the query asks
 * for are there, the command runs; stdout and stderr end with FIN, then the
 * error stream carries the Status (nothing on success, as the kubelet does).
 * @param {ExecModel} model @param {ExecTarget} target
 * @param {import('node:http').IncomingMessage} req @param {import('node:stream').Duplex} socket @param {Buffer} head @param {URLSearchParams} q
 */
function serveSpdy(model, target, req, socket, head, q) {
  const offered = (req.headersDistinct['x-stream-protocol-version'] ?? []).flatMap((v) => v.split(',')).map((v) => v.trim());
  const protocol = SPDY_PROTOCOLS.find((p) => offered.includes(p));
  if (!protocol) return rawAnswer(socket, 403, 'text/plain; charset=utf-8', `unable to upgrade: none of the requested protocols [${offered.join(' ')}] are supported (want one of ${SPDY_PROTOCOLS.join(', ')})`);
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  const session = new SpdySession(socket, head);
  /** @type {Record<string, number>} */
  const streams = {};
  const want = ['error', ...(flag(q, 'stdin') ? ['stdin'] : []), ...(flag(q, 'stdout') ? ['stdout'] : []),
    ...(flag(q, 'stderr') && !target.tty ? ['stderr'] : [])];
  const inbox = new Inbox();
  if (!flag(q, 'stdin')) inbox.end();
  const gone = new AbortController();
  let started = false;
  const giveUp = setTimeout(() => socket.destroy(), 30_000);
  session.on('close', () => { clearTimeout(giveUp); inbox.end(); gone.abort(); });
  session.on('data', (/** @type {number} */ id, /** @type {Buffer} */ data, /** @type {boolean} */ fin) => {
    if (id !== streams.stdin) return;
    if (data.length) inbox.push(data);
    if (fin) inbox.end();
  });
  session.on('stream', (/** @type {number} */ id, /** @type {Record<string, string>} */ h) => {
    if (h.streamtype) streams[h.streamtype] = id;
    if (started || !want.every((w) => w in streams)) return;
    started = true;
    clearTimeout(giveUp);
    /** @param {string} type @param {Buffer | string} d */
    const out = (type, d) => { if (type in streams && d.length) void session.data(streams[type], typeof d === 'string' ? Buffer.from(d) : d, false); };
    runModel(model, target, { stdin: inbox, stdout: (d) => out('stdout', d), stderr: (d) => out(target.tty ? 'stdout' : 'stderr', d), signal: gone.signal })
      .then(async (status) => {
        for (const type of ['stdout', 'stderr']) if (type in streams) await session.data(streams[type], Buffer.alloc(0), true);
        await session.data(streams.error, status.status === 'Success' ? Buffer.alloc(0) : Buffer.from(JSON.stringify(status)), true);
        // The client closes the connection once it has read everything; do it for a client that does not.
        const t = setTimeout(() => { void session.goAway(); }, 5000);
        t.unref();
        session.once('close', () => clearTimeout(t));
      });
  });
  return 101;
}
