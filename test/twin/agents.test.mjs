// @ts-check
// The agents' answers to exec come from the twin's state: `cilium status -o json`
// and `cilium endpoint list -o json` in the cilium-agent containers and
// `kvstoremesh-dbg status -o json` in kvstoremesh say not connected before
// connect and while the remote clustermesh-apiserver is gone, and list endpoints
// not ready; the cilium stand-in reads them through exec as the real CLI does
// (status --wait waits on a not-ready endpoint; clustermesh status counts
// `configured` only where an agent reports the cluster).
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTwin } from '../../twin/twin.mjs';
import { attachAgents, execModel } from '../../twin/agents/index.mjs';
import { kubectl as runKubectl } from '../support/kubectl.mjs';
import { scaled, waitFor } from '../support/time.mjs';

const BIN = fileURLToPath(new URL('../../twin/bin/cilium', import.meta.url));
const NS = 'kube-system';

/** @type {import('../../twin/server/types.js').RunningTwin} */
let twin;

/** @param {string[]} args @returns {Promise<{ code: number, stdout: string, stderr: string }>} */
function cilium(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, KUBECONFIG: twin.kubeconfig, TWIN_CILIUM_RETRY_MS: '100' }, timeout: scaled(120_000),
    }, (err, stdout, stderr) => resolve({ code: err ? Number(/** @type {any} */ (err).code) : 0, stdout, stderr }));
  });
}

/** @param {string[]} args @param {string} [context] */
const kubectl = (args, context = 'cluster-a') => runKubectl(['--context', context, ...args], { kubeconfig: twin.kubeconfig, cacheDir: join(twin.dir, 'kube-cache') });

/** The cilium agent pods of cluster k, by node. @param {'a'|'b'} k */
const agents = (k) => twin.clusters[k].store.list('/pods', NS).filter((p) => p.metadata.labels?.['k8s-app'] === 'cilium' && p.status?.phase === 'Running');
/** @param {'a'|'b'} k */
const kvPod = (k) => twin.clusters[k].store.list('/pods', NS).find((p) => p.metadata.labels?.['k8s-app'] === 'clustermesh-apiserver' && p.status?.phase === 'Running')?.metadata.name;

/** JSON of a command exec'd with kubectl. @param {'a'|'b'} k @param {string} pod @param {string} container @param {string[]} cmd */
async function execJson(k, pod, container, cmd) {
  const r = await kubectl(['exec', '-n', NS, pod, '-c', container, '--', ...cmd], `cluster-${k}`);
  if (r.code !== 0) throw new Error(`exec ${cmd.join(' ')}: ${r.code} ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test.before(async () => {
  twin = await startTwin({ cleanup: true, nodeIpBase: { a: '127.77.41.1', b: '127.77.42.1' }, delays: { podReadyMs: 100, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 } });
  for (const k of /** @type {const} */ (['a', 'b'])) {
    if (k === 'b') {
      const ca = /** @type {import('../../twin/store/types.js').KubeObject} */ (twin.clusters.a.store.get('/secrets', NS, 'cilium-ca'));
      const { uid, resourceVersion, creationTimestamp, managedFields, ...meta } = /** @type {any} */ (ca.metadata);
      twin.clusters.b.store.create('/secrets', { ...ca, metadata: meta });
    }
    const i = await cilium(['--context', `cluster-${k}`, 'install', '--version', '1.19.3', '--set', `cluster.name=cluster-${k}`, '--set', `cluster.id=${k === 'a' ? 1 : 2}`]);
    if (i.code !== 0) throw new Error(`install ${k}: ${i.stderr}`);
    const e = await cilium(['--context', `cluster-${k}`, 'clustermesh', 'enable', '--service-type', 'NodePort']);
    if (e.code !== 0) throw new Error(`enable ${k}: ${e.stderr}`);
    const s = await cilium(['--context', `cluster-${k}`, 'clustermesh', 'status', '--wait', '--wait-duration', '60s']);
    if (s.code !== 0) throw new Error(`clustermesh status ${k}: ${s.stdout}${s.stderr}`);
  }
});

test.after.always(() => twin?.stop());

test.serial('before connect: the agents know no remote cluster, KVStoreMesh none; other commands fail as in a container', async (t) => {
  const pod = agents('a')[0].metadata.name;
  const st = await execJson('a', pod, 'cilium-agent', ['cilium', 'status', '-o', 'json']);
  t.like(st, { cilium: { state: 'Ok' }, kvstore: { state: 'Disabled' }, 'kube-proxy-replacement': { mode: 'False' } });
  t.deepEqual(st['cluster-mesh'].clusters, []);
  t.is(st.cluster.nodes.length, 3);
  t.is(st.cluster.self, `cluster-a/${agents('a')[0].spec.nodeName}`);
  t.deepEqual(await execJson('a', /** @type {string} */ (kvPod('a')), 'kvstoremesh', ['/usr/bin/clustermesh-apiserver', 'kvstoremesh-dbg', 'status', '-o', 'json']), []);
  const brief = await kubectl(['exec', '-n', NS, pod, '-c', 'cilium-agent', '--', 'cilium-dbg', 'status', '--brief']);
  t.is(brief.stdout, 'OK\n');
  const other = await kubectl(['exec', '-n', NS, pod, '-c', 'cilium-agent', '--', 'cilium-health', 'status']);
  t.is(other.code, 127);
  t.regex(other.stderr, /"cilium-health": executable file not found/);
  const j = await cilium(['--context', 'cluster-a', 'clustermesh', 'status', '-o', 'json']);
  t.is(j.code, 0, j.stderr);
  t.like(JSON.parse(j.stdout), { connectivity: { total: 3 }, kvstoremesh: { enabled: true, status: { total: 1 } } });
});

test.serial('an endpoint not ready is a warning: cilium status --wait waits until it is ready', async (t) => {
  const agent = agents('a')[1];
  const node = agent.spec.nodeName;
  // A pod the kubelet has not started yet (no controller moves a pod without owner).
  twin.clusters.a.store.create('/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'slow', namespace: 'default', labels: { app: 'slow' } },
    spec: { nodeName: node, containers: [{ name: 'main', image: 'example/slow:1' }] },
    status: { phase: 'Pending', containerStatuses: [{ name: 'main', ready: false, state: { waiting: { reason: 'ContainerCreating' } } }] },
  });
  const eps = await execJson('a', agent.metadata.name, 'cilium-agent', ['cilium', 'endpoint', 'list', '-o', 'json']);
  const slow = eps.find((/** @type {any} */ e) => e.status['external-identifiers']?.['k8s-pod-name'] === 'slow');
  t.is(slow?.status.state, 'waiting-for-identity');
  t.true(eps.filter((/** @type {any} */ e) => e !== slow).every((/** @type {any} */ e) => e.status.state === 'ready'));

  const once = await cilium(['--context', 'cluster-a', 'status']);
  t.is(once.code, 0, once.stderr);
  t.regex(once.stdout, new RegExp(`Warnings:\\s+cilium\\s+${agent.metadata.name}\\s+1 endpoints are not ready`));

  const server = twin.clusters.a.server;
  const polls = () => server.requests().filter((e) => e.path.endsWith(`/pods/${agent.metadata.name}/exec`) && e.query.includes('command=endpoint')).length;
  const before = polls();
  const waiting = cilium(['--context', 'cluster-a', 'status', '--wait', '--wait-duration', '120s', '--interactive=false']);
  await waitFor(() => polls() >= before + 2, 'status --wait to ask the agent twice');
  const pod = /** @type {any} */ (twin.clusters.a.store.get('/pods', 'default', 'slow'));
  twin.clusters.a.store.update('/pods', { ...pod, status: { ...pod.status, phase: 'Running', containerStatuses: [{ name: 'main', ready: true, state: { running: { startedAt: new Date().toISOString() } } }] } });
  const r = await waiting;
  t.is(r.code, 0, r.stdout + r.stderr);
  t.notRegex(r.stdout, /endpoints are not ready/);
  twin.clusters.a.store.delete('/pods', 'default', 'slow');
});

test.serial('after connect: agents and KVStoreMesh report the remote cluster ready with its nodes', async (t) => {
  const c = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(c.code, 0, c.stderr);
  for (const k of /** @type {const} */ (['a', 'b'])) {
    const other = k === 'a' ? 'cluster-b' : 'cluster-a';
    const s = await cilium(['--context', `cluster-${k}`, 'clustermesh', 'status', '--wait', '--wait-duration', '60s']);
    t.is(s.code, 0, s.stdout + s.stderr);
    const st = await execJson(k, agents(k)[0].metadata.name, 'cilium-agent', ['cilium', 'status', '-o', 'json']);
    t.like(st['cluster-mesh'].clusters[0], { name: other, connected: true, ready: true, 'num-nodes': 3, config: { required: true, retrieved: true, kvstoremesh: true } });
    const kv = await execJson(k, /** @type {string} */ (kvPod(k)), 'kvstoremesh', ['/usr/bin/clustermesh-apiserver', 'kvstoremesh-dbg', 'status', '-o', 'json']);
    t.like(kv[0], { name: other, connected: true, ready: true, synced: { nodes: true, endpoints: true, identities: true, services: true } });
    const j = JSON.parse((await cilium(['--context', `cluster-${k}`, 'clustermesh', 'status', '-o', 'json'])).stdout);
    t.deepEqual(j.connectivity.clusters, { [other]: { configured: 3, connected: 3 } });
    t.is(j.connectivity.total, 3);
    t.is(j.connectivity.not_ready, undefined);
  }
});

test.serial('the real chart\'s mesh config (agents via the local clustermesh-apiserver, KVStoreMesh by name and hostAliases) connects too', async (t) => {
  const store = twin.clusters.a.store;
  const b64 = (/** @type {string} */ s) => Buffer.from(s).toString('base64');
  const aliases = (/** @type {any} */ (store.get('apps/deployments', NS, 'clustermesh-apiserver'))).spec.template.spec.hostAliases;
  t.true(aliases.length > 0 && aliases.every((/** @type {any} */ a) => a.hostnames.includes('cluster-b.mesh.cilium.io')), JSON.stringify(aliases));
  /** @type {Record<string, any>} */
  const saved = {};
  for (const [name, endpoint] of [['cilium-clustermesh', 'https://clustermesh-apiserver.kube-system.svc:2379'], ['cilium-kvstoremesh', 'https://cluster-b.mesh.cilium.io:32379']]) {
    const secret = /** @type {any} */ (store.get('/secrets', NS, name));
    saved[name] = secret.data;
    store.update('/secrets', { ...secret, data: { ...secret.data, 'cluster-b': b64(`endpoints:\n- ${endpoint}\ntrusted-ca-file: /var/lib/cilium/clustermesh/common-etcd-client-ca.crt\n`) } });
  }
  t.teardown(() => {
    for (const [name, data] of Object.entries(saved)) store.update('/secrets', { .../** @type {any} */ (store.get('/secrets', NS, name)), data });
  });
  const st = await execJson('a', agents('a')[0].metadata.name, 'cilium-agent', ['cilium', 'status', '-o', 'json']);
  t.like(st['cluster-mesh'].clusters[0], { name: 'cluster-b', ready: true });
  const j = JSON.parse((await cilium(['--context', 'cluster-a', 'clustermesh', 'status', '-o', 'json'])).stdout);
  t.deepEqual(j.connectivity.clusters, { 'cluster-b': { configured: 3, connected: 3 } });
  t.deepEqual(j.kvstoremesh.status.clusters, { 'cluster-b': { configured: 1, connected: 1 } });
});

test.serial('an agent that does not report a configured cluster: configured counts only those that do, and it is not ready', async (t) => {
  const a = twin.clusters.a;
  const odd = agents('a')[2].metadata.name;
  const inner = execModel({ store: a.store, twin, key: 'a', k3sVersion: twin.options.k3sVersion });
  // One agent whose cilium-clustermesh Secret has not reached it yet: it reports no remote cluster.
  a.server.setExecModel(async (target, io) => {
    if (target.pod.metadata.name !== odd || target.command[1] !== 'status') return inner(target, io);
    let out = '';
    const code = await inner(target, { ...io, stdout: (d) => { out += d; } });
    const st = JSON.parse(out);
    st['cluster-mesh'].clusters = [];
    io.stdout(JSON.stringify(st));
    return code;
  });
  t.teardown(() => attachAgents(twin));
  const j = JSON.parse((await cilium(['--context', 'cluster-a', 'clustermesh', 'status', '-o', 'json'])).stdout);
  t.deepEqual(j.connectivity.clusters, { 'cluster-b': { configured: 2, connected: 2 } });
  t.is(j.connectivity.total, 3);
  t.is(j.connectivity.not_ready, 1);
  t.deepEqual(j.connectivity.errors[odd]['cluster-b'].Errors, ['unknown status']);
  const s = await cilium(['--context', 'cluster-a', 'clustermesh', 'status']);
  t.true(s.stdout.includes('⚠️  1/3 nodes are not connected to all clusters [min:0 / avg:0.7 / max:1]'), s.stdout);
  t.true(s.stdout.includes('  - cluster-b: 2/3 configured, 2/3 connected - KVStoreMesh: 1/1 configured, 1/1 connected'), s.stdout);
});

test.serial('the remote clustermesh-apiserver gone: KVStoreMesh loses it, the agents say so, status --wait keeps waiting', async (t) => {
  const b = twin.clusters.b.store;
  const d = /** @type {any} */ (b.get('apps/deployments', NS, 'clustermesh-apiserver'));
  b.update('apps/deployments', { ...d, spec: { ...d.spec, replicas: 0 } });
  t.teardown(() => {
    const now = /** @type {any} */ (b.get('apps/deployments', NS, 'clustermesh-apiserver'));
    b.update('apps/deployments', { ...now, spec: { ...now.spec, replicas: 1 } });
  });
  const kv = await waitFor(async () => {
    const list = await execJson('a', /** @type {string} */ (kvPod('a')), 'kvstoremesh', ['/usr/bin/clustermesh-apiserver', 'kvstoremesh-dbg', 'status', '-o', 'json']);
    return list[0]?.connected ? undefined : list;
  }, 'KVStoreMesh of cluster-a to lose cluster-b', 30_000, 100);
  t.like(kv[0], { name: 'cluster-b' });
  t.regex(kv[0].status, /connection refused/);
  const st = await execJson('a', agents('a')[0].metadata.name, 'cilium-agent', ['cilium', 'status', '-o', 'json']);
  t.like(st['cluster-mesh'].clusters[0], { name: 'cluster-b', connected: true, config: { required: true, retrieved: false } });
  t.falsy(st['cluster-mesh'].clusters[0].ready);
  const s = await cilium(['--context', 'cluster-a', 'clustermesh', 'status', '--wait', '--wait-duration', '2s']);
  t.is(s.code, 1);
  t.regex(s.stderr, /timeout while waiting for condition, last error: 1 KVStoreMesh replicas are not ready/);
  t.true(s.stdout.includes('  - cluster-b: 3/3 configured, 0/3 connected - KVStoreMesh: 1/1 configured, 0/1 connected'), s.stdout);
  t.regex(s.stdout, /is not connected to cluster cluster-b: dial tcp [\d.]+:32379: connect: connection refused\n {5}💡 Run 'kubectl exec -it -n kube-system clustermesh-apiserver-/);
  // The command the hint names answers too.
  const hint = await kubectl(['exec', '-n', NS, /** @type {string} */ (kvPod('a')), '-c', 'kvstoremesh', '--', '/usr/bin/clustermesh-apiserver', 'kvstoremesh-dbg', 'troubleshoot', 'cluster-b']);
  t.is(hint.code, 0, hint.stderr);
  t.regex(hint.stdout, /Cluster "cluster-b":[\s\S]*❌ dial tcp [\d.]+:32379: connect: connection refused/);
});
