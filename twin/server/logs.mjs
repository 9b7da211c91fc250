// @ts-check
// pods/log: plausible lines per container (what a Cilium agent, KVStoreMesh or
// an ordinary container prints when it starts), with the query parameters
// kubectl logs sends: container, tailLines, timestamps, limitBytes, previous,
// follow (the stream stays open and ends when the pod is gone).
import { badRequest, notFound } from '../kinds/errors.mjs';
import { ciliumConfig } from '../controllers/util.mjs';
import { secretClusters } from '../agents/state.mjs';
import { podContainer } from './exec.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/store.mjs').Store} Store */

/** @param {number} ms */
const stamp = (ms) => new Date(ms).toISOString().replace(/Z$/, '000000Z');
/** @param {number} ms */
const logfmtTime = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * The lines a container has printed so far, each with its time.
 * @param {Store} store @param {KubeObject} pod @param {string} container
 * @returns {Array<{ ms: number, text: string }>}
 */
export function containerLines(store, pod, container) {
  const cs = (pod.status?.containerStatuses ?? []).find((/** @type {any} */ c) => c.name === container);
  const started = Date.parse(cs?.state?.running?.startedAt ?? pod.status?.startTime ?? pod.metadata.creationTimestamp ?? '') || Date.now();
  const image = (pod.spec?.containers ?? []).find((/** @type {any} */ c) => c.name === container)?.image ?? '';
  const node = pod.spec?.nodeName ?? '';
  /** @type {string[]} */
  let texts;
  const info = (/** @type {number} */ i, /** @type {string} */ msg, /** @type {string} */ sub) => `time=${logfmtTime(started + i * 40)} level=info msg=${JSON.stringify(msg)} module=${sub}`;
  if (container === 'cilium-agent') {
    const cfg = ciliumConfig(store) ?? {};
    texts = [
      info(0, 'Memory available for map entries', 'agent.datapath.maps'),
      info(1, 'Establishing connection to apiserver', 'agent.infra.k8s-client'),
      info(2, 'Connected to apiserver', 'agent.infra.k8s-client'),
      info(3, `Cluster ${cfg['cluster-name'] ?? 'default'} (ID ${cfg['cluster-id'] ?? '0'}) on node ${node}`, 'agent.controlplane.daemon'),
      info(4, 'Initializing daemon', 'agent.controlplane.daemon'),
      info(5, 'Daemon initialization completed', 'agent.controlplane.daemon'),
      ...(secretClusters(store, 'cilium-clustermesh') ?? []).map((c, i) => info(6 + i, `Connecting to remote cluster ${c}`, 'agent.controlplane.clustermesh')),
    ];
  } else if (container === 'kvstoremesh') {
    texts = [info(0, 'Starting KVStoreMesh', 'kvstoremesh'), ...(secretClusters(store, 'cilium-kvstoremesh') ?? []).map((c, i) => info(1 + i, `Connecting to remote cluster ${c}`, 'kvstoremesh.clustermesh'))];
  } else {
    texts = [`${container}: starting (${image})`, `${container}: listening`, `${container}: ready`];
  }
  return texts.map((text, i) => ({ ms: started + i * 40, text }));
}

/**
 * Serves GET .../pods/NAME/log.
 * @param {import('./resources.mjs').Ctx} ctx @param {string} ns @param {string} name
 * @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res @param {URLSearchParams} q
 */
export function serveLogs(ctx, ns, name, req, res, q) {
  if ((req.method ?? 'GET') !== 'GET') throw badRequest(`the server does not allow this method on the requested resource`);
  const pod = ctx.store.get('/pods', ns, name);
  if (!pod) throw notFound({ group: '', plural: 'pods' }, name);
  const container = podContainer(pod, name, q.get('container'));
  const cs = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((/** @type {any} */ c) => c.name === container);
  if (q.get('previous') === 'true') throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  if (pod.spec?.nodeName && !cs?.state?.running && !cs?.state?.terminated) {
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${cs?.state?.waiting?.reason ?? 'ContainerCreating'}`);
  }
  const timestamps = q.get('timestamps') === 'true';
  const fmt = (/** @type {{ ms: number, text: string }} */ l) => `${timestamps ? `${stamp(l.ms)} ` : ''}${l.text}\n`;
  let lines = pod.spec?.nodeName ? containerLines(ctx.store, pod, container) : [];
  const tail = q.get('tailLines');
  if (tail !== null && Number(tail) >= 0) lines = Number(tail) === 0 ? [] : lines.slice(-Number(tail));
  let body = lines.map(fmt).join('');
  const limit = Number(q.get('limitBytes'));
  if (limit > 0) body = Buffer.from(body).subarray(0, limit).toString('utf8');
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  if (q.get('follow') !== 'true') { res.end(body); return; }
  res.write(body);
  // Follow: the stream ends when the pod (this uid) is gone or the client leaves.
  const uid = pod.metadata.uid;
  const timer = setInterval(() => {
    const now = ctx.store.get('/pods', ns, name);
    if (!now || now.metadata.uid !== uid || now.metadata.deletionTimestamp) end();
  }, 200);
  const end = () => { clearInterval(timer); ctx.openWatches.delete(end); if (!res.writableEnded) res.end(); };
  ctx.openWatches.add(end);
  res.on('close', end);
}
