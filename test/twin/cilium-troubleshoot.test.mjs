// @ts-check
// Two mesh set-ups with the cilium stand-in against the twin: NodePort
// clustermesh-apiservers (node IPs, port 32379), and the article's
// troubleshooting case where both clusters' clustermesh-apiservers get the same
// LoadBalancer IP — the status then shows exactly the article's errors.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTwin } from '../../twin/twin.mjs';
import { scaled } from '../support/time.mjs';

const BIN = fileURLToPath(new URL('../../twin/bin/cilium', import.meta.url));
const NS = 'kube-system';

/** @typedef {import('../../twin/server/types.js').RunningTwin} RunningTwin */

/**
 * @param {RunningTwin} twin @param {string[]} args
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
function cilium(twin, args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, KUBECONFIG: twin.kubeconfig, TWIN_CILIUM_RETRY_MS: '100' }, timeout: scaled(90_000),
    }, (err, stdout, stderr) => resolve({ code: err ? Number(/** @type {any} */ (err).code) : 0, stdout, stderr }));
  });
}

/**
 * Two installed clusters sharing a CA, clustermesh enabled with the given service type.
 * @param {import('ava').ExecutionContext} t @param {'NodePort'|'LoadBalancer'} type @param {string} [sharedLbIp]
 */
async function meshTwin(t, type, sharedLbIp) {
  // Node addresses of its own per twin, so that concurrent twins never share a listener.
  const base = type === 'NodePort' ? 21 : 31;
  const twin = await startTwin({ cleanup: true, nodeIpBase: { a: `127.77.${base}.1`, b: `127.77.${base + 1}.1` }, delays: { podReadyMs: 100, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 } });
  t.teardown(() => twin.stop());
  /** @param {'a'|'b'} k */
  const install = (k) => cilium(twin, ['--context', `cluster-${k}`, 'install', '--version', '1.19.3',
    '--set', `cluster.name=cluster-${k}`, '--set', `cluster.id=${k === 'a' ? 1 : 2}`, '--set', 'kubeProxyReplacement=true',
    '--set', `k8sServiceHost=${twin.clusters[k].nodes[0].ip}`, '--set', 'k8sServicePort=6443', '--set', 'l2announcements.enabled=true']);
  t.is((await install('a')).code, 0);
  const ca = /** @type {import('../../twin/store/types.js').KubeObject} */ (twin.clusters.a.store.get('/secrets', NS, 'cilium-ca'));
  const { uid, resourceVersion, creationTimestamp, managedFields, ...meta } = /** @type {any} */ (ca.metadata);
  twin.clusters.b.store.create('/secrets', { ...ca, metadata: meta });
  t.is((await install('b')).code, 0);
  if (sharedLbIp) {
    for (const k of /** @type {const} */ (['a', 'b'])) {
      twin.clusters[k].store.create('cilium.io/ciliuml2announcementpolicies', { apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy', metadata: { name: 'l2-policy' }, spec: { loadBalancerIPs: true } });
      twin.clusters[k].store.create('cilium.io/ciliumloadbalancerippools', { apiVersion: 'cilium.io/v2', kind: 'CiliumLoadBalancerIPPool', metadata: { name: 'cluster-pool' }, spec: { blocks: [{ start: sharedLbIp, stop: sharedLbIp }] } });
    }
  }
  for (const k of ['a', 'b']) {
    const r = await cilium(twin, ['--context', `cluster-${k}`, 'clustermesh', 'enable', '--service-type', type]);
    t.is(r.code, 0, r.stderr);
    if (type === 'NodePort') t.is(r.stdout, '⚠️  Using service type NodePort may fail when nodes are removed from the cluster!\n');
  }
  // certgen's Job makes the certificates connect reads once its pod has run (as on a real cluster).
  const missing = () => (/** @type {const} */ (['a', 'b'])).filter((k) => !twin.clusters[k].store.get('/secrets', NS, 'clustermesh-apiserver-remote-cert'));
  const deadline = Date.now() + scaled(30_000);
  while (missing().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.deepEqual(missing(), [], 'clusters whose certgen Job made no clustermesh-apiserver-remote-cert');
  return twin;
}

test('NodePort: connect uses a node IP and port 32379, and the mesh connects', async (t) => {
  const twin = await meshTwin(t, 'NodePort');
  const svc = twin.clusters.a.store.get('/services', NS, 'clustermesh-apiserver');
  t.is(svc?.spec.ports[0].nodePort, 32379);
  const c = await cilium(twin, ['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(c.code, 0, c.stderr);
  const ipA = twin.clusters.a.nodes[1].ip; // the API lists nodes by name: k3s-a-agent-1 first
  const ipB = twin.clusters.b.nodes[1].ip;
  t.true(c.stdout.startsWith(`✨ Extracting access information of cluster cluster-a...\n🔑 Extracting secrets from cluster cluster-a...\n⚠️  Service type NodePort detected! Service may fail when nodes are removed from the cluster!\nℹ️  Found ClusterMesh service IPs: [${ipA}]\n`), c.stdout);
  t.true(c.stdout.includes(`ℹ️  Found ClusterMesh service IPs: [${ipB}]\n`));
  for (const k of ['a', 'b']) {
    const s = await cilium(twin, ['--context', `cluster-${k}`, 'clustermesh', 'status', '--wait', '--wait-duration', '60s']);
    t.is(s.code, 0, s.stdout + s.stderr);
    t.true(s.stdout.includes(`✅ Service "clustermesh-apiserver" of type "NodePort" found\n✅ Cluster access information is available:\n  - ${k === 'a' ? ipA : ipB}:32379\n`));
    t.true(s.stdout.includes(`  - cluster-${k === 'a' ? 'b' : 'a'}: 3/3 configured, 3/3 connected - KVStoreMesh: 1/1 configured, 1/1 connected\n`), s.stdout);
  }
});

test('the article\'s troubleshooting case: both clustermesh-apiservers on one LB IP never connect', async (t) => {
  const twin = await meshTwin(t, 'LoadBalancer', '127.77.100.9');
  const c = await cilium(twin, ['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(c.code, 0, c.stderr);
  t.is(c.stdout.match(/Found ClusterMesh service IPs: \[127\.77\.100\.9\]/g)?.length, 2);
  const s = await cilium(twin, ['--context', 'cluster-a', 'clustermesh', 'status', '--wait', '--wait-duration', '3s']);
  t.is(s.code, 1);
  t.is(s.stderr, '\nError: Unable to determine status:  timeout while waiting for condition, last error: 1 KVStoreMesh replicas are not ready\n');
  const out = s.stdout;
  t.true(out.includes([
    '⚠️  3/3 nodes are not connected to all clusters [min:0 / avg:0.0 / max:0]',
    '⚠️  1/1 KVStoreMesh replicas are not connected to all clusters [min:0 / avg:0.0 / max:0]',
    '',
    '🔌 Cluster Connections:',
    '  - cluster-b: 3/3 configured, 0/3 connected - KVStoreMesh: 1/1 configured, 0/1 connected',
    '',
    '❌ 4 Errors:',
  ].join('\n')), out);
  const agents = out.match(/ {2}❌ cilium-[a-z0-9]{5} is not connected to cluster cluster-b: remote cluster configuration required but not found\n {5}💡 This is likely caused by KVStoreMesh not being connected to the given cluster\n/g);
  t.is(agents?.length, 3);
  t.regex(out, / {2}❌ clustermesh-apiserver-[a-z0-9]+-[a-z0-9]{5} is not connected to cluster cluster-b: remote cluster configuration required but not found\n {5}💡 Double check if the cluster name matches the one configured in the remote cluster\n/);
  const j = await cilium(twin, ['--context', 'cluster-a', 'clustermesh', 'status', '-o', 'json']);
  t.is(j.code, 0, 'JSON output exits 0 even when not connected');
  const st = JSON.parse(j.stdout);
  t.deepEqual(st.connectivity.clusters, { 'cluster-b': { configured: 3 } });
  t.is(st.connectivity.not_ready, 3);
});
