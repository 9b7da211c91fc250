// @ts-check
// A real-backend cluster with all its parts (npm run build:real): etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok playing
// three K3s-like nodes. The real controllers and scheduler act on what the
// real kubectl applies. Skipped, saying so, when a binary is not built.
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { scaled } from '../support/time.mjs';

const NODES = { count: 3, ipBase: '127.0.30.1' };
const { bins, missing } = clusterBinaries({ nodes: NODES });
const { real, k, until, cluster } = realBackend(missing, (dir) => startCluster({ dir, key: 'a', nodes: NODES,
  podCidr: '10.42.0.0/16', serviceCidr: '10.96.0.0/12', readyMs: scaled(120_000), removeDir: true }));

real('three nodes named and labelled as K3s\'s turn Ready, each with a pod CIDR out of the cluster CIDR', async (t) => {
  const cols = 'jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address} '
    + '{.spec.podCIDR} {.metadata.labels.node-role\\.kubernetes\\.io/master} {.metadata.labels.node\\.kubernetes\\.io/instance-type} '
    + '{.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}';
  const ready = (/** @type {string} */ o) => o.trim().split('\n').map((l) => l.split(' ')).filter((r) => r[6] === 'True' && r[2] !== '').length === 3;
  const out = await until(['get', 'nodes', '-o', cols], ready);
  const rows = out.trim().split('\n').map((l) => l.split(' '));
  const version = `${bins.apiserver.version}+k3s1`;
  t.deepEqual(rows.map((r) => [r[0], r[1], r[3], r[4], r[5], r[6]]), [
    ['k3s-a-agent-1', '127.0.30.2', '', 'k3s', version, 'True'],
    ['k3s-a-agent-2', '127.0.30.3', '', 'k3s', version, 'True'],
    ['k3s-a-server', '127.0.30.1', 'true', 'k3s', version, 'True'],
  ]);
  for (const r of rows) t.regex(r[2], /^10\.42\.\d+\.0\/24$/);
  t.is(new Set(rows.map((r) => r[2])).size, 3);
});

real('a new namespace gets its default ServiceAccount and the kube-root-ca.crt ConfigMap', async (t) => {
  const r = await k(['create', 'namespace', 'demo']);
  t.is(r.code, 0, r.stderr);
  t.is(await until(['-n', 'demo', 'get', 'serviceaccount', 'default', '-o', 'name'], (o) => o.trim() !== ''), 'serviceaccount/default\n');
  const ca = await until(['-n', 'demo', 'get', 'configmap', 'kube-root-ca.crt', '-o', 'jsonpath={.data.ca\\.crt}'], (o) => o !== '');
  t.is(ca.trim(), cluster().pki.caCert.trim());
});

real('a Deployment\'s pods are scheduled onto the nodes and become Running and Ready with pod IPs of their node', async (t) => {
  const r = await k(['-n', 'demo', 'create', 'deployment', 'echo', '--image=registry.k8s.io/pause:3.10', '--replicas=3']);
  t.is(r.code, 0, r.stderr);
  const rolled = await until(['-n', 'demo', 'rollout', 'status', 'deployment/echo', '--timeout=5s'], (o) => /successfully rolled out/.test(o));
  t.is(rolled.trim().split('\n').at(-1), 'deployment "echo" successfully rolled out');
  const pods = await k(['-n', 'demo', 'get', 'pods', '-l', 'app=echo', '-o',
    'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.status.podIP} {.status.hostIP}{"\\n"}{end}']);
  const nodes = await k(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[0].address}{"\\n"}{end}']);
  const byNode = new Map(nodes.stdout.trim().split('\n').map((l) => { const [n, cidr, ip] = l.split(' '); return [n, { cidr, ip }]; }));
  const rows = pods.stdout.trim().split('\n').map((l) => l.split(' '));
  t.is(rows.length, 3);
  for (const [node, phase, podIP, hostIP] of rows) {
    const n = byNode.get(node);
    t.truthy(n, `pod on unknown node ${node}`);
    t.is(phase, 'Running');
    t.is(hostIP, n?.ip ?? '');
    t.is(podIP.split('.').slice(0, 3).join('.'), n?.cidr.split('.').slice(0, 3).join('.') ?? '', `${podIP} not in ${n?.cidr}`);
  }
});

real('scaling down: the ReplicaSet deletes two pods and kwok lets them go', async (t) => {
  const r = await k(['-n', 'demo', 'scale', 'deployment/echo', '--replicas=1']);
  t.is(r.code, 0, r.stderr);
  const left = await until(['-n', 'demo', 'get', 'pods', '-l', 'app=echo', '-o', 'name'], (o) => o.trim().split('\n').length === 1);
  t.regex(left, /^pod\/echo-[a-z0-9]+-[a-z0-9]+\n$/);
});

real('every process of the cluster still runs', (t) => {
  const c = cluster();
  t.deepEqual(c.procs.map((p) => [p.name, p.alive()]),
    [['etcd', true], ['kube-apiserver', true], ['kube-controller-manager', true], ['kube-scheduler', true], ['kwok', true]]);
});
