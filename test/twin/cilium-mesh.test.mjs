// @ts-check
// ClusterMesh with the cilium stand-in against the twin: enable (Helm values,
// rendered objects, certgen Secrets, idempotence), connect and its refusals
// (no LB IP, CA mismatch, same name, same ID, no release), status in summary and
// JSON both ways, what upgrades do to the mesh config, disconnect. The data
// plane answers the clustermesh endpoints; assertions go through the stores.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { mkdtemp, writeFile, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTwin } from '../../twin/twin.mjs';
import { scaled } from '../support/time.mjs';

const BIN = fileURLToPath(new URL('../../twin/bin/cilium', import.meta.url));
const NS = 'kube-system';
// Addresses of its own, so that twins of other test files running at the same time do not clash.
const LB = { a: '127.77.100.1', b: '127.77.100.2' };

/** @type {import('../../twin/server/types.js').RunningTwin} */
let twin;

test.before(async () => {
  twin = await startTwin({ cleanup: true, nodeIpBase: { a: '127.77.11.1', b: '127.77.12.1' }, delays: { podReadyMs: 150, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 } });
});
test.after.always(async () => { await twin?.stop(); });

/**
 * The stand-in with KUBECONFIG pointing at the twin (clustermesh connect reads the
 * destination context from KUBECONFIG, never from --kubeconfig, like the real CLI).
 * @param {string[]} args @param {Record<string, string>} [env]
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
function cilium(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, KUBECONFIG: twin.kubeconfig, TWIN_CILIUM_RETRY_MS: '100', ...env }, timeout: scaled(90_000),
    }, (err, stdout, stderr) => resolve({ code: err ? Number(/** @type {any} */ (err).code) : 0, stdout, stderr }));
  });
}

/** @param {'a'|'b'} k */
const store = (k) => twin.clusters[k].store;
/** @param {'a'|'b'} k */
const lastRelease = (k) => {
  const s = store(k).list('/secrets', NS).filter((x) => x.metadata.labels?.owner === 'helm')
    .sort((x, y) => Number(x.metadata.labels?.version) - Number(y.metadata.labels?.version)).at(-1);
  return s && JSON.parse(gunzipSync(Buffer.from(Buffer.from(s.data.release, 'base64').toString(), 'base64')).toString());
};
/** @param {'a'|'b'} k */
const meshSecret = (k) => {
  const d = store(k).get('/secrets', NS, 'cilium-clustermesh')?.data ?? {};
  return Object.fromEntries(Object.entries(d).map(([n, v]) => [n, Buffer.from(String(v), 'base64').toString()]));
};
/** @param {'a'|'b'} k */
const installValues = (k) => [
  '--set', 'kubeProxyReplacement=true', '--set', `k8sServiceHost=${twin.clusters[k].nodes[0].ip}`, '--set', 'k8sServicePort=6443',
  '--set', `cluster.name=cluster-${k}`, '--set', `cluster.id=${k === 'a' ? 1 : 2}`,
  '--set', `ipam.operator.clusterPoolIPv4PodCIDRList={10.4${k === 'a' ? 2 : 3}.0.0/16}`, '--set', 'l2announcements.enabled=true',
];
/** LB pool and L2 policy (what the runbook applies once the operator registered the CRDs). @param {'a'|'b'} k */
function meshPool(k) {
  store(k).create('cilium.io/ciliuml2announcementpolicies', { apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumL2AnnouncementPolicy', metadata: { name: 'l2-policy' }, spec: { loadBalancerIPs: true, externalIPs: true } });
  store(k).create('cilium.io/ciliumloadbalancerippools', { apiVersion: 'cilium.io/v2', kind: 'CiliumLoadBalancerIPPool', metadata: { name: 'cluster-pool' }, spec: { blocks: [{ start: LB[k], stop: LB[k] }] } });
}
/** @param {'a'|'b'} k */
const statusJson = async (k) => {
  const r = await cilium(['--context', `cluster-${k}`, 'clustermesh', 'status', '-o', 'json', '--wait', '--wait-duration', '30s']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
};

test.serial('setup: install a, share its CA with b, install b', async (t) => {
  t.is((await cilium(['--context', 'cluster-a', 'install', '--version', '1.19.3', ...installValues('a')])).code, 0);
  const ca = /** @type {any} */ (store('a').get('/secrets', NS, 'cilium-ca'));
  const { uid, resourceVersion, creationTimestamp, managedFields, ...meta } = ca.metadata;
  store('b').create('/secrets', { ...ca, metadata: meta });
  t.is((await cilium(['--context', 'cluster-b', 'install', '--version', '1.19.3', ...installValues('b')])).code, 0);
  for (const k of /** @type {const} */ (['a', 'b'])) {
    const r = await cilium(['--context', `cluster-${k}`, 'status', '--wait', '--wait-duration', '30s', '--interactive=false']);
    t.is(r.code, 0, r.stderr);
  }
});

test.serial('connect before enable: no clustermesh-apiserver Service', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(r.code, 1);
  t.is(r.stdout, '✨ Extracting access information of cluster cluster-a...\n❌ Unable to retrieve access information of cluster "cluster-a": unable to get clustermesh service "clustermesh-apiserver": services "clustermesh-apiserver" not found\n');
  t.is(r.stderr, '\nError: Unable to connect cluster: unable to get clustermesh service "clustermesh-apiserver": services "clustermesh-apiserver" not found\n');
});

test.serial('enable: Helm values, Service/Deployment/certificates; re-running only adds a revision', async (t) => {
  for (const k of /** @type {const} */ (['a', 'b'])) {
    const r = await cilium(['--context', `cluster-${k}`, 'clustermesh', 'enable', '--service-type', 'LoadBalancer']);
    t.is(r.stderr, '');
    t.is(r.stdout, '');
    t.is(r.code, 0);
  }
  const rel = lastRelease('a');
  t.is(rel.version, 2);
  t.like(rel.config.clustermesh, { useAPIServer: true, config: { enabled: true }, apiserver: { service: { type: 'LoadBalancer' }, tls: { auto: { enabled: true, method: 'cronJob' } } } });
  t.deepEqual(rel.config.cluster, { name: 'cluster-a', id: 1 }, 'enable reuses the values');
  const svc = store('a').get('/services', NS, 'clustermesh-apiserver');
  t.is(svc?.spec.type, 'LoadBalancer');
  t.is(svc?.spec.ports[0].port, 2379);
  const dep = store('a').get('apps/deployments', NS, 'clustermesh-apiserver');
  t.falsy(dep?.spec.template.spec.hostNetwork, 'the clustermesh-apiserver needs the CNI');
  // certgen's Job makes the certificates once its pod runs (the twin's Job controller), not enable itself.
  const job = store('a').list('batch/jobs', NS).find((j) => j.metadata.name.startsWith('clustermesh-apiserver-generate-certs-'));
  t.truthy(job, 'the chart rendered the certgen Job');
  t.truthy(store('a').get('batch/cronjobs', NS, 'clustermesh-apiserver-generate-certs'), 'and its CronJob');
  const certs = ['clustermesh-apiserver-remote-cert', 'clustermesh-apiserver-server-cert', 'clustermesh-apiserver-admin-cert', 'clustermesh-apiserver-local-cert'];
  const deadline = Date.now() + scaled(30_000);
  while (!certs.every((s) => store('a').get('/secrets', NS, s)?.data?.['tls.crt']) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const s of certs) t.truthy(store('a').get('/secrets', NS, s)?.data?.['tls.crt'], s);
  const before = { svc: svc?.metadata.resourceVersion, dep: dep?.metadata.resourceVersion };
  t.is((await cilium(['--context', 'cluster-a', 'clustermesh', 'enable', '--service-type', 'LoadBalancer'])).code, 0);
  t.is(lastRelease('a').version, 3);
  t.is(store('a').get('/services', NS, 'clustermesh-apiserver')?.metadata.resourceVersion, before.svc);
  t.is(store('a').get('apps/deployments', NS, 'clustermesh-apiserver')?.metadata.generation, dep?.metadata.generation);
});

test.serial('connect without LB IPs: unable to derive service IPs automatically', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(r.code, 1);
  t.true(r.stdout.endsWith('❌ Unable to retrieve access information of cluster "cluster-a": unable to derive service IPs automatically\n'));
  t.is(r.stderr, '\nError: Unable to connect cluster: unable to derive service IPs automatically\n');
  t.deepEqual(meshSecret('a'), {}, 'nothing configured');
});

test.serial('status before connect: apiserver ready, no cluster connected', async (t) => {
  meshPool('a');
  meshPool('b');
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'status', '--wait', '--wait-duration', '30s']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.true(r.stdout.startsWith(`✅ Service "clustermesh-apiserver" of type "LoadBalancer" found\n✅ Cluster access information is available:\n  - ${LB.a}:2379\n`), r.stdout);
  t.true(r.stdout.endsWith('✅ Deployment clustermesh-apiserver is ready\nℹ️  KVStoreMesh is enabled\n\n\n🔌 No cluster connected\n\n'), r.stdout);
});

test.serial('connect: the article\'s lines, both releases and cilium-clustermesh Secrets', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(r.stdout, [
    '✨ Extracting access information of cluster cluster-a...', '🔑 Extracting secrets from cluster cluster-a...', `ℹ️  Found ClusterMesh service IPs: [${LB.a}]`,
    '✨ Extracting access information of cluster cluster-b...', '🔑 Extracting secrets from cluster cluster-b...', `ℹ️  Found ClusterMesh service IPs: [${LB.b}]`,
    'ℹ️ Configuring Cilium in cluster cluster-a to connect to cluster cluster-b', 'ℹ️ Configuring Cilium in cluster cluster-b to connect to cluster cluster-a',
    '✅ Connected cluster cluster-a <=> cluster-b!', ''].join('\n'));
  t.deepEqual(lastRelease('a').config.clustermesh.config.clusters, [{ name: 'cluster-b', ips: [LB.b], port: 2379 }]);
  t.deepEqual(lastRelease('b').config.clustermesh.config.clusters, [{ name: 'cluster-a', ips: [LB.a], port: 2379 }]);
  t.deepEqual(Object.keys(meshSecret('a')), ['cluster-b']);
  t.true(meshSecret('a')['cluster-b'].startsWith(`endpoints:\n- https://${LB.b}:2379\n`));
  t.true(meshSecret('b')['cluster-a'].startsWith(`endpoints:\n- https://${LB.a}:2379\n`));
  t.truthy(store('a').get('/secrets', NS, 'cilium-kvstoremesh')?.data?.['cluster-b']);
});

test.serial('status: connected both ways (summary and JSON)', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'status', '--wait', '--wait-duration', '60s']);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes('\n✅ All 3 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]\n✅ All 1 KVStoreMesh replicas are connected to all clusters [min:1 / avg:1.0 / max:1]\n\n🔌 Cluster Connections:\n  - cluster-b: 3/3 configured, 3/3 connected - KVStoreMesh: 1/1 configured, 1/1 connected\n'), r.stdout);
  t.is((await cilium(['--context', 'cluster-b', 'clustermesh', 'status', '--wait', '--wait-duration', '60s'])).code, 0);
  for (const [k, other] of /** @type {const} */ ([['a', 'cluster-b'], ['b', 'cluster-a']])) {
    const s = await statusJson(k);
    t.like(s.access_information, { service_type: 'LoadBalancer', service_ips: [LB[k]], service_port: 2379, cluster_name: `cluster-${k}`, cluster_id: k === 'a' ? '1' : '2' });
    t.deepEqual(s.connectivity.clusters, { [other]: { configured: 3, connected: 3 } });
    t.deepEqual(s.connectivity.connected, { min: 1, avg: 1, max: 1 });
    t.is(s.connectivity.total, 3);
    t.is(s.connectivity.not_ready, undefined);
    t.is(s.kvstoremesh.enabled, true);
    t.deepEqual(s.kvstoremesh.status.clusters, { [other]: { configured: 1, connected: 1 } });
  }
});

test.serial('connect again is idempotent apart from new revisions', async (t) => {
  const va = lastRelease('a').version;
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(r.code, 0);
  t.is(lastRelease('a').version, va + 1);
  t.deepEqual(lastRelease('a').config.clustermesh.config.clusters, [{ name: 'cluster-b', ips: [LB.b], port: 2379 }]);
  t.deepEqual(Object.keys(meshSecret('b')), ['cluster-a']);
});

test.serial('upgrade with --set keeps connect\'s clusters (reset-then-reuse); a values file with --reset-values drops them', async (t) => {
  const keep = await cilium(['--context', 'cluster-a', 'upgrade', '--version', '1.19.3', '--set', 'hubble.enabled=true']);
  t.is(keep.code, 0, keep.stderr);
  t.deepEqual(lastRelease('a').config.clustermesh.config.clusters, [{ name: 'cluster-b', ips: [LB.b], port: 2379 }]);
  t.deepEqual(Object.keys(meshSecret('a')), ['cluster-b']);

  const dir = await mkdtemp(join(tmpdir(), 'cilium-mesh-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'values.yaml');
  await writeFile(file, [
    'kubeProxyReplacement: true', `k8sServiceHost: ${twin.clusters.a.nodes[0].ip}`, 'k8sServicePort: 6443',
    'cluster:', '  name: cluster-a', '  id: 1', 'l2announcements:', '  enabled: true',
    'ipam:', '  operator:', '    clusterPoolIPv4PodCIDRList: ["10.42.0.0/16"]',
    'clustermesh:', '  useAPIServer: true', '  config:', '    enabled: true', '  apiserver:', '    service:', '      type: LoadBalancer', '',
  ].join('\n'));
  // Without enable's tls.auto.method=cronJob the chart renders the certificate Secrets itself,
  // and Helm refuses to take over the ones certgen made.
  const trap = await cilium(['--context', 'cluster-a', 'upgrade', '--version', '1.19.3', '--reset-values', '-f', file]);
  t.is(trap.code, 1);
  t.regex(trap.stderr, /^\nError: Unable to upgrade Cilium: unable to continue with update: Secret "clustermesh-apiserver-[a-z]+-cert" in namespace "kube-system" exists and cannot be imported into the current release: invalid ownership metadata; label validation error: missing key "app.kubernetes.io\/managed-by": must be set to "Helm"; /);
  t.deepEqual(Object.keys(meshSecret('a')), ['cluster-b'], 'a refused upgrade changes nothing');
  await writeFile(file, `${await readFile(file, 'utf8')}    tls:\n      auto:\n        method: cronJob\n`);
  const drop = await cilium(['--context', 'cluster-a', 'upgrade', '--version', '1.19.3', '--reset-values', '-f', file]);
  t.is(drop.code, 0, drop.stderr);
  t.is(lastRelease('a').config.clustermesh.config.clusters, undefined);
  t.deepEqual(meshSecret('a'), {}, 'cluster-a no longer connects to cluster-b');
  const s = await statusJson('a');
  t.is(s.connectivity.clusters, undefined);
  // Put the mesh back for what follows.
  t.is((await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b'])).code, 0);
});

test.serial('disconnect removes both entries', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'disconnect', '--destination-context', 'cluster-b']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(r.stdout, 'ℹ️ Configuring Cilium in cluster cluster-a to disconnect from cluster cluster-b\nℹ️ Configuring Cilium in cluster cluster-b to disconnect from cluster cluster-a\n✅ Disconnected clusters cluster-a <x> cluster-b!\n');
  t.deepEqual(lastRelease('a').config.clustermesh.config.clusters, []);
  t.deepEqual(lastRelease('b').config.clustermesh.config.clusters, []);
  t.deepEqual(meshSecret('a'), {});
  t.deepEqual(meshSecret('b'), {});
});

test.serial('unicast connect configures only the source', async (t) => {
  const r = await cilium(['--context', 'cluster-b', 'clustermesh', 'connect', '--destination-context', 'cluster-a', '--connection-mode', 'unicast']);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.endsWith('ℹ️ Configuring Cilium in cluster cluster-b to connect to cluster cluster-a\n✅ Connected cluster cluster-b => cluster-a!\n'));
  t.deepEqual(Object.keys(meshSecret('b')), ['cluster-a']);
  t.deepEqual(meshSecret('a'), {});
  t.is((await cilium(['--context', 'cluster-b', 'clustermesh', 'disconnect', '--destination-context', 'cluster-a', '--connection-mode', 'unicast'])).code, 0);
  t.deepEqual(meshSecret('b'), {});
});

test.serial('--kubeconfig is not used for the destination context (as in the real CLI)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cilium-mesh-home-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await cilium(['--kubeconfig', twin.kubeconfig, '--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b'], { KUBECONFIG: '', HOME: dir });
  t.is(r.code, 1);
  t.is(r.stderr, '\nError: Unable to connect cluster: unable to create Kubernetes client to access remote cluster "cluster-b": context "cluster-b" does not exist\n');
});

test.serial('refusals: same name, same ID', async (t) => {
  t.is((await cilium(['--context', 'cluster-b', 'upgrade', '--version', '1.19.3', '--set', 'cluster.name=cluster-a'])).code, 0);
  const name = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(name.code, 1);
  t.is(name.stderr, '\nError: Unable to connect cluster: remote and local cluster have the same, non-unique name: cluster-a\n');
  t.is((await cilium(['--context', 'cluster-b', 'upgrade', '--version', '1.19.3', '--set', 'cluster.name=cluster-b', '--set', 'cluster.id=1'])).code, 0);
  const id = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(id.stderr, '\nError: Unable to connect cluster: remote and local cluster have the same, non-unique ID: 1\n');
  t.is((await cilium(['--context', 'cluster-b', 'upgrade', '--version', '1.19.3', '--set', 'cluster.id=2'])).code, 0);
  t.deepEqual(meshSecret('a'), {});
});

test.serial('refusal: CA mismatch (v0.19.1+), then --allow-mismatching-ca adds the CAs to the bundle', async (t) => {
  store('b').delete('/secrets', NS, 'cilium-ca');
  t.is((await cilium(['--context', 'cluster-b', 'upgrade', '--version', '1.19.3'])).code, 0);
  t.notDeepEqual(store('b').get('/secrets', NS, 'cilium-ca')?.data, store('a').get('/secrets', NS, 'cilium-ca')?.data, 'b made its own CA');
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b']);
  t.is(r.code, 1);
  t.is(r.stderr, '\nError: Unable to connect cluster: Cilium CA certificates do not match between clusters cluster-a and cluster-b. Use --allow-mismatching-ca to allow this by adding remote CAs to the CA bundle\n');
  t.deepEqual(meshSecret('a'), {});
  const ok = await cilium(['--context', 'cluster-a', 'clustermesh', 'connect', '--destination-context', 'cluster-b', '--allow-mismatching-ca']);
  t.is(ok.code, 0, ok.stderr);
  t.true(ok.stdout.includes('⚠️ Cilium CA certificates do not match between clusters cluster-a and cluster-b. Remote cluster CA will be trusted in the CA bundle\n'));
  const bundle = lastRelease('a').config.tls.caBundle;
  t.is(bundle.enabled, true);
  t.is((bundle.content.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
});

test.serial('refusal: no Helm release in the target cluster', async (t) => {
  t.is((await cilium(['--context', 'cluster-b', 'uninstall'])).code, 0);
  const r = await cilium(['--context', 'cluster-b', 'clustermesh', 'connect', '--destination-context', 'cluster-a']);
  t.is(r.code, 1);
  t.is(r.stdout, '❌ Unable to find Helm release for the target cluster\n');
  t.is(r.stderr, '\nError: Unable to connect cluster: release: not found\n');
  const st = await cilium(['--context', 'cluster-b', 'clustermesh', 'status']);
  t.is(st.code, 1);
  t.is(st.stderr, '\nError: Unable to determine status:  unable to retrieve ConfigMap "cilium-config": configmaps "cilium-config" not found\n');
});
