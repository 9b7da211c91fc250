// @ts-check
// The recognisers of known failures (scripts/lib/known-failures.mjs) on crafted data:
// a healthy pair of clusters, then one fault at a time; each fault gives its
// hint and no other recogniser's, and unrelated data gives none. Then the
// bundle's second line of defence (scrubbing keys, redacting Secrets) and a
// bundle written with no kubectl or cilium at all.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import {
  diagnose, crdsNotReady, caMismatch, sameLbIp, serviceLb, poolMismatch, poolsHolding, sharedMeshIps, RECOGNISERS,
} from '../../scripts/lib/known-failures.mjs';
import { saveDiagnostics, diagnosticsOff, diagnosticsDir, DEFAULT_DIR } from '../../scripts/lib/diagnostics-bundle.mjs';
import { scrubText, redact, REMOVED } from '../../scripts/lib/redact.mjs';
import { articleConfig, tempDir, ROOT } from '../support/config-fixture.mjs';

/** @typedef {import('../../scripts/lib/known-failures.mjs').DiagnosisData} DiagnosisData */
/** @typedef {import('../../scripts/lib/known-failures.mjs').ClusterData} ClusterData */

const POOL_CRD = 'ciliumloadbalancerippools.cilium.io';
const L2_CRD = 'ciliuml2announcementpolicies.cilium.io';
const A = { key: 'a', label: 'A', context: 'cluster-a', name: 'cluster-a', meshIp: '192.168.254.220', appPool: { start: '192.168.254.230', stop: '192.168.254.239' } };
const B = { key: 'b', label: 'B', context: 'cluster-b', name: 'cluster-b', meshIp: '192.168.254.221', appPool: { start: '192.168.254.240', stop: '192.168.254.249' } };

/** @template T @param {T} value */
const ok = (value) => /** @type {{ ok: true, value: T }} */ ({ ok: true, value });
/** @param {string} error @param {any} [value] */
const failed = (error, value) => /** @type {{ ok: false, error: string, value?: any }} */ (value === undefined ? { ok: false, error } : { ok: false, error, value });

/** @param {boolean} satisfied @param {string} [reason] @param {string} [message] */
const ipamCondition = (satisfied, reason = 'satisfied', message = '') =>
  ({ type: 'cilium.io/IPAMRequestSatisfied', status: satisfied ? 'True' : 'False', reason, message });

/** @param {string} ns @param {string} name @param {string[]} ips @param {any[]} [conditions] @param {Record<string, string>} [labels] */
const service = (ns, name, ips, conditions = [ipamCondition(true)], labels = {}) => ({
  apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name, labels },
  spec: { type: 'LoadBalancer', ports: [{ port: 2379 }] },
  status: { loadBalancer: ips.length ? { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) } : {}, conditions },
});

/** @param {string} name @param {any[]} blocks @param {any} selector @param {any[]} [conditions] */
const pool = (name, blocks, selector, conditions = []) =>
  ({ apiVersion: 'cilium.io/v2', kind: 'CiliumLoadBalancerIPPool', metadata: { name }, spec: { blocks, serviceSelector: selector }, status: { conditions } });

const MESH_SELECTOR = { matchLabels: { 'io.kubernetes.service.namespace': 'kube-system', 'io.kubernetes.service.name': 'clustermesh-apiserver' } };
const APP_SELECTOR = { matchLabels: { 'lb-pool': 'app' } };

/** @param {string} name @param {boolean} established */
const crd = (name, established) => ({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name },
  status: { conditions: [{ type: 'Established', status: established ? 'True' : 'False' }] },
});

/** @param {typeof A} c @param {number} n node number base */
function healthyCluster(c, n) {
  /** @type {ClusterData} */
  const d = {
    cluster: c,
    ciliumStatus: ok({ helm_chart_version: '1.19.3', pod_state: { cilium: { Desired: 3, Ready: 3 }, 'cilium-operator': { Type: 'Deployment', Desired: 1, Ready: 1 } } }),
    meshStatus: ok({ access_information: { service_type: 'LoadBalancer', service_ips: [c.meshIp], service_port: 2379, cluster_name: c.name, ca: 'Q0EgYQ==' } }),
    meshService: ok(service('kube-system', 'clustermesh-apiserver', [c.meshIp])),
    apiserver: ok({ kind: 'Deployment', metadata: { name: 'clustermesh-apiserver', namespace: 'kube-system' } }),
    echoService: ok(service('echo', 'echo', [c.appPool.start], undefined, { 'lb-pool': 'app' })),
    pools: ok([
      pool('cluster-pool', [{ start: c.meshIp, stop: c.meshIp }], MESH_SELECTOR),
      pool('app-pool', [{ start: c.appPool.start, stop: c.appPool.stop }], APP_SELECTOR),
    ]),
    l2Policies: ok([{ kind: 'CiliumL2AnnouncementPolicy', metadata: { name: 'l2-policy' }, spec: { loadBalancerIPs: true } }]),
    crds: ok([crd(POOL_CRD, true), crd(L2_CRD, true)]),
    servicelb: ok([]),
    nodes: ok([0, 1, 2].map((i) => ({
      kind: 'Node', metadata: { name: i ? `k3s-${c.key}-agent-${i}` : `k3s-${c.key}-server` },
      status: { addresses: [{ type: 'InternalIP', address: `192.168.254.${n + i}` }, { type: 'Hostname', address: `k3s-${c.key}-${i}` }] },
    }))),
  };
  return d;
}

/** @param {Partial<DiagnosisData['failure']>} [failure] @returns {DiagnosisData} */
function healthy(failure = {}) {
  return {
    failure: { step: '07 Connect the clusters', action: 'Connect cluster-a and cluster-b', message: 'something failed', line: '', stderr: '', stdout: '', ...failure },
    meshServiceType: 'LoadBalancer',
    echo: { namespace: 'echo', name: 'echo' },
    clusters: [healthyCluster(A, 10), healthyCluster(B, 20)],
  };
}

/** Only this recogniser speaks. @param {import('ava').ExecutionContext} t @param {DiagnosisData} d @param {string} id */
function onlyFinding(t, d, id) {
  const found = diagnose(d);
  t.deepEqual(found.map((f) => f.id), [id], found.map((f) => f.hint).join('\n'));
  return found[0]?.hint ?? '';
}

// ---- nothing to recognise --------------------------------------------------------------

test('healthy clusters: no recogniser has a hint', (t) => {
  const d = healthy();
  for (const [id, fn] of RECOGNISERS) t.is(fn(d), null, id);
  t.deepEqual(diagnose(d), []);
});

test('an unrelated failure (API server unreachable, a rollout timeout) gives no hint', (t) => {
  t.deepEqual(diagnose(healthy({
    message: 'cluster A (context cluster-a): the API server at https://192.168.254.10:6443 is not reachable — dial tcp: connect: connection refused',
    line: 'kubectl --context cluster-a get secret', stderr: 'The connection to the server 192.168.254.10:6443 was refused',
  })), []);
  t.deepEqual(diagnose(healthy({ message: 'error: timed out waiting for the condition', line: 'kubectl rollout status -n echo deployment/echo' })), []);
});

test('a step run before Cilium is installed on B (no CRDs, no pools, no mesh): no hint, the step names what to run', (t) => {
  const d = healthy({ step: '04 ClusterMesh IP pools and L2 announcements', message: 'Cilium is not installed on cluster-b: run step 03 (npm run 03) first.' });
  const b = d.clusters[1];
  b.ciliumStatus = failed('cilium status: exit code 1\nstatus check failed: [daemonsets.apps "cilium" not found]', { pods_count: { all: 3, by_cilium: 0 } });
  b.meshStatus = failed('unable to retrieve ConfigMap "cilium-config"');
  b.meshService = ok(null);
  b.echoService = ok(null);
  b.pools = failed('error: the server doesn\'t have a resource type "ciliumloadbalancerippools"');
  b.l2Policies = failed('error: the server doesn\'t have a resource type "ciliuml2announcementpolicies"');
  b.crds = ok([]);
  t.deepEqual(diagnose(d), []);
});

test('odd data (missing fields, wrong types) is no hint and no crash', (t) => {
  const d = healthy();
  const a = d.clusters[0];
  a.meshService = ok({ kind: 'Service', spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ hostname: 'lb.example' }, null] } } });
  a.pools = ok([{ metadata: { name: 'cluster-pool' }, spec: { blocks: [{ cidr: 'fd00::/64' }, { start: 'nonsense' }] } }]);
  a.nodes = failed('timed out');
  a.meshStatus = ok('not an object');
  t.notThrows(() => diagnose(d));
  t.deepEqual(poolsHolding([{ spec: { blocks: 'x' } }], '10.0.0.1'), []);
});

// ---- CRDs ------------------------------------------------------------------------------

test('CRDs missing on a cluster with Cilium: hint names the cluster, the CRDs and the operator', (t) => {
  const d = healthy({ step: '04 ClusterMesh IP pools and L2 announcements', message: 'timed out after 3s waiting for cilium-operator on cluster-a to register …' });
  const a = d.clusters[0];
  a.crds = ok([]);
  a.pools = failed('error: the server doesn\'t have a resource type "ciliumloadbalancerippools"');
  a.l2Policies = failed('error: the server doesn\'t have a resource type "ciliuml2announcementpolicies"');
  a.meshService = ok(null);
  a.echoService = ok(null);
  const hint = onlyFinding(t, d, 'crds');
  t.regex(hint, /^Cilium's LoadBalancer CRDs are not ready on cluster-a: ciliumloadbalancerippools\.cilium\.io is missing; ciliuml2announcementpolicies\.cilium\.io is missing\./);
  t.regex(hint, /cilium-operator: 1\/1 ready/);
  t.regex(hint, /rollout restart deployment\/cilium-operator/);
  t.notRegex(hint, /cluster-b/);
});

test('CRDs there but not Established, and pool kinds unknown while the CRD list failed: both recognised', (t) => {
  const d = healthy();
  d.clusters[1].crds = ok([crd(POOL_CRD, true), crd(L2_CRD, false)]);
  t.regex(crdsNotReady(d) ?? '', /on cluster-b: ciliuml2announcementpolicies\.cilium\.io is not Established\./);
  const e = healthy();
  e.clusters[0].crds = failed('kubectl get customresourcedefinitions: timed out after 10s');
  e.clusters[0].pools = failed('error: the server doesn\'t have a resource type "ciliumloadbalancerippools"');
  t.regex(crdsNotReady(e) ?? '', /on cluster-a: the API server does not serve Cilium's pool kinds \(error: the server doesn't have a resource type "ciliumloadbalancerippools"\)/);
});

// ---- CA mismatch -----------------------------------------------------------------------

test('CA mismatch from the connect error: the CA hint', (t) => {
  const d = healthy({
    message: 'cilium clustermesh connect --context cluster-a --destination-context cluster-b failed', line: 'cilium clustermesh connect --context cluster-a --destination-context cluster-b',
    stderr: '\nError: Unable to connect cluster: Cilium CA certificates do not match between clusters cluster-a and cluster-b. Use --allow-mismatching-ca to allow this by adding remote CAs to the CA bundle\n',
  });
  const hint = onlyFinding(t, d, 'ca-mismatch');
  t.is(hint, 'the clusters have different Cilium CAs. Cilium on cluster-b was installed without cluster-a\'s CA: uninstall it there, delete its cilium-ca Secret, and run steps 02 and 03 again.');
});

test('CA mismatch from the data alone: the access information carries different CA certificates', (t) => {
  const d = healthy();
  d.clusters[1].meshStatus = ok({ access_information: { service_type: 'LoadBalancer', service_ips: [B.meshIp], ca: 'Q0EgYg==' } });
  onlyFinding(t, d, 'ca-mismatch');
  const same = healthy();
  t.is(caMismatch(same), null);
});

// ---- same LB IP ------------------------------------------------------------------------

test('both apiservers on one IP because A\'s mesh pool holds B\'s IP: the hint names the IP, the pool and the steps', (t) => {
  const d = healthy({ message: 'cilium clustermesh status --context cluster-a --wait failed: timeout while waiting for condition' });
  const a = d.clusters[0];
  a.pools = ok([pool('cluster-pool', [{ start: B.meshIp, stop: B.meshIp }], MESH_SELECTOR), pool('app-pool', [{ start: A.appPool.start, stop: A.appPool.stop }], APP_SELECTOR)]);
  a.meshService = ok(service('kube-system', 'clustermesh-apiserver', [B.meshIp]));
  a.meshStatus = ok({ access_information: { service_type: 'LoadBalancer', service_ips: [B.meshIp], ca: 'Q0EgYQ==' } });
  const hint = onlyFinding(t, d, 'same-lb-ip');
  t.is(hint, 'both clustermesh-apiservers are reached at 192.168.254.221: two apiservers behind one IP never connect ' +
    '("remote cluster configuration required but not found"). cluster-a\'s clustermesh-apiserver has 192.168.254.221, not its ' +
    'CLUSTER_A_MESH_IP 192.168.254.220 (pool cluster-pool holds 192.168.254.221). Run step 04 again (it puts back the configured ' +
    'cluster-pool pools), then steps 06 and 07.');
  t.is(poolMismatch(d), null, 'left to the same-IP recogniser');
});

test('same IP seen only in the clustermesh status, and configured equal: the hint asks for different mesh IPs', (t) => {
  const d = healthy();
  d.clusters[1].cluster = { ...B, meshIp: A.meshIp };
  d.clusters[1].meshService = ok(null);
  d.clusters[1].meshStatus = ok({ access_information: { service_type: 'LoadBalancer', service_ips: [A.meshIp] } });
  t.regex(sameLbIp(d) ?? '', /reached at 192\.168\.254\.220: .* Give the clusters different CLUSTER_A_MESH_IP and CLUSTER_B_MESH_IP values\.$/);
  t.deepEqual(sharedMeshIps(d.clusters[0].meshStatus.value, d.clusters[1].meshStatus.value), [A.meshIp]);
  const nodePort = healthy();
  for (const c of nodePort.clusters) c.meshStatus = ok({ access_information: { service_type: 'NodePort', service_ips: ['192.168.254.10'] } });
  t.is(sameLbIp(nodePort), null, 'NodePort meshes are reached at node IPs, not one LB IP');
});

// ---- ServiceLB -------------------------------------------------------------------------

test('ServiceLB took the clustermesh-apiserver: node IPs and its svclb DaemonSet', (t) => {
  const d = healthy({ step: '06 Enable ClusterMesh' });
  const a = d.clusters[0];
  a.meshService = ok(service('kube-system', 'clustermesh-apiserver', ['192.168.254.10', '192.168.254.11'], []));
  a.servicelb = ok([{ kind: 'DaemonSet', metadata: { name: 'svclb-clustermesh-apiserver-0be3a20f', namespace: 'kube-system',
    labels: { 'svccontroller.k3s.cattle.io/svcname': 'clustermesh-apiserver', 'svccontroller.k3s.cattle.io/svcnamespace': 'kube-system' } } }]);
  const hint = onlyFinding(t, d, 'servicelb');
  t.regex(hint, /^K3s's ServiceLB took LoadBalancer Services on cluster-a: kube-system\/clustermesh-apiserver got 192\.168\.254\.10 \(node k3s-a-server\), 192\.168\.254\.11 \(node k3s-a-agent-1\) and is served by DaemonSet svclb-clustermesh-apiserver-0be3a20f\./);
  t.regex(hint, /--disable=servicelb/);
});

test('ServiceLB recognised from a node IP alone, from svclb pods alone, and from a lone svclb DaemonSet', (t) => {
  const byIp = healthy();
  byIp.clusters[1].echoService = ok(service('echo', 'echo', ['192.168.254.22'], []));
  t.regex(onlyFinding(t, byIp, 'servicelb'), /on cluster-b: echo\/echo got 192\.168\.254\.22 \(node k3s-b-agent-2\)\./);
  const byPods = healthy();
  byPods.clusters[0].meshService = ok(service('kube-system', 'clustermesh-apiserver', [], []));
  byPods.clusters[0].servicelb = ok([1, 2].map((i) => ({ kind: 'Pod', metadata: { name: `svclb-clustermesh-apiserver-x-${i}`, labels: { 'svccontroller.k3s.cattle.io/svcname': 'clustermesh-apiserver', 'svccontroller.k3s.cattle.io/svcnamespace': 'kube-system' } } })));
  t.regex(onlyFinding(t, byPods, 'servicelb'), /clustermesh-apiserver is served by 2 svclb pods/);
  const lone = healthy();
  lone.clusters[0].servicelb = ok([{ kind: 'DaemonSet', metadata: { name: 'svclb-traefik-1234', labels: { 'svccontroller.k3s.cattle.io/svcname': 'traefik' } } }]);
  t.regex(serviceLb(lone) ?? '', /DaemonSet svclb-traefik-1234 runs/);
});

// ---- pools -----------------------------------------------------------------------------

test('echo pending with no_pool because the app pool no longer selects it', (t) => {
  const d = healthy({ step: '08 Deploy echo with a global Service', line: 'kubectl --context cluster-a wait -n echo --for=jsonpath={.status.loadBalancer.ingress[0].ip} svc/echo --timeout=3s' });
  const a = d.clusters[0];
  a.echoService = ok(service('echo', 'echo', [], [ipamCondition(false, 'no_pool', 'There are no enabled CiliumLoadBalancerIPPools that match this service')]));
  a.pools = ok([pool('cluster-pool', [{ start: A.meshIp, stop: A.meshIp }], MESH_SELECTOR), pool('app-pool', [{ start: A.appPool.start, stop: A.appPool.stop }], { matchLabels: { 'lb-pool': 'nothing' } })]);
  const hint = onlyFinding(t, d, 'pool');
  t.is(hint, 'echo/echo on cluster-a has no LoadBalancer IP: LB-IPAM says no_pool: "There are no enabled CiliumLoadBalancerIPPools that match this service". ' +
    'Pool app-pool on cluster-a holds 192.168.254.230–192.168.254.239 and selects {"matchLabels":{"lb-pool":"nothing"}}; ' +
    'it should give 192.168.254.230–192.168.254.239. Run step 05 again: it puts back the configured pool.');
});

test('pool faults: missing pool, out_of_ips, a conflicting pool, and the apiserver on an IP of another pool', (t) => {
  const missing = healthy();
  missing.clusters[1].echoService = ok(service('echo', 'echo', [], [ipamCondition(false, 'no_pool', 'There are no enabled CiliumLoadBalancerIPPools that match this service')]));
  missing.clusters[1].pools = ok([pool('cluster-pool', [{ start: B.meshIp, stop: B.meshIp }], MESH_SELECTOR)]);
  t.regex(onlyFinding(t, missing, 'pool'), /echo\/echo on cluster-b has no LoadBalancer IP: .* Pool app-pool is missing on cluster-b\. Run step 05 again/);

  const full = healthy();
  full.clusters[0].echoService = ok(service('echo', 'echo', [], [ipamCondition(false, 'out_of_ips', 'All enabled CiliumLoadBalancerIPPools that match this service ran out of allocatable IPs')]));
  t.regex(onlyFinding(t, full, 'pool'), /LB-IPAM says out_of_ips: .* Pool app-pool on cluster-a \(192\.168\.254\.230–192\.168\.254\.239\) has no free IP/);

  const conflict = healthy();
  conflict.clusters[0].meshService = ok(service('kube-system', 'clustermesh-apiserver', [], [ipamCondition(false, 'no_pool', 'No pool')]));
  conflict.clusters[0].pools = ok([pool('cluster-pool', [{ cidr: '192.168.254.220/32' }], MESH_SELECTOR,
    [{ type: 'cilium.io/PoolConflict', status: 'True', message: "Pool conflicts since range '192.168.254.220 - 192.168.254.220' overlaps range … from IP Pool 'other'" }])]);
  t.regex(onlyFinding(t, conflict, 'pool'), /kube-system\/clustermesh-apiserver on cluster-a has no LoadBalancer IP: .* Pool cluster-pool on cluster-a is in conflict: Pool conflicts since/);

  const wrong = healthy({ step: '06 Enable ClusterMesh' });
  wrong.clusters[0].meshService = ok(service('kube-system', 'clustermesh-apiserver', ['192.168.254.235']));
  t.regex(onlyFinding(t, wrong, 'pool'), /^kube-system\/clustermesh-apiserver on cluster-a got 192\.168\.254\.235, not its CLUSTER_A_MESH_IP 192\.168\.254\.220 \(from pool app-pool\)\./);

  const echoOutside = healthy();
  echoOutside.clusters[1].echoService = ok(service('echo', 'echo', ['192.168.254.100']));
  t.regex(onlyFinding(t, echoOutside, 'pool'), /^echo\/echo on cluster-b got 192\.168\.254\.100, not an IP of CLUSTER_B_APP_POOL_START\/STOP 192\.168\.254\.240–192\.168\.254\.249\./);
});

test('a NodePort mesh: the apiserver Service is no pool\'s business', (t) => {
  const d = healthy();
  d.meshServiceType = 'NodePort';
  for (const c of d.clusters) c.meshService = ok({ ...service('kube-system', 'clustermesh-apiserver', []), spec: { type: 'NodePort' } });
  t.deepEqual(diagnose(d), []);
});

// ---- the bundle's second line of defence ----------------------------------------------------

const KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkPq0mZl2n2S0bX9mHo0pAHkzAbCdEfGhIjKlMnOpQroAoGCCqGSM49\nAwEHoUQDQgAE0123456789abcdefABCDEF\n-----END EC PRIVATE KEY-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw\n-----END CERTIFICATE-----\n';

test('scrubText cuts PEM private keys, escaped in JSON and base64-encoded, and keeps certificates', (t) => {
  const b64 = Buffer.from(KEY).toString('base64');
  const text = `plain:\n${KEY}json: ${JSON.stringify({ key: KEY })}\nbase64: {"client_key":"${b64}"}\ncert: ${Buffer.from(CERT).toString('base64')}\n` +
    'cut off: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\n';
  const s = scrubText(text);
  t.notRegex(s, /PRIVATE KEY/);
  t.false(s.includes('MHcCAQEEIBkPq0mZl2n2S0bX9mHo0pAHkzAbCdEfGhIjKlMnOpQroAoGCCqGSM49'));
  t.false(s.includes(b64.slice(0, 40)));
  t.false(s.includes('MIIEowIBAAKCAQEAx'));
  t.true(s.includes(Buffer.from(CERT).toString('base64')), 'a base64 certificate stays');
  t.is(s.split(REMOVED).length - 1, 4);
  t.is(scrubText('nothing secret here: 192.168.254.220'), 'nothing secret here: 192.168.254.220');
});

test('redact drops Secret data and key fields, and leaves other objects alone', (t) => {
  /** @type {any} */
  const list = {
    kind: 'List',
    items: [
      { kind: 'Secret', metadata: { name: 'cilium-ca', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"ca.key":"x"}}' } }, data: { 'ca.crt': 'Y2VydA==', 'ca.key': 'a2V5' }, stringData: { x: 'y' } },
      { kind: 'ConfigMap', metadata: { name: 'cilium-config' }, data: { 'cluster-name': 'cluster-a' } },
      { kind: 'Deployment', spec: { template: { spec: { tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }] } } } },
    ],
    access_information: { ca: 'Y2E=', client_cert: 'Y2VydA==', client_key: 'a2V5' },
  };
  const r = redact(list);
  t.deepEqual(r.items[0].data, { 'ca.crt': '<removed>', 'ca.key': '<removed>' });
  t.deepEqual(r.items[0].stringData, { x: '<removed>' });
  t.is(r.items[0].metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], '<removed>');
  t.deepEqual(r.items[1], list.items[1]);
  t.deepEqual(r.items[2], list.items[2], 'a toleration\'s key is no key');
  t.deepEqual(r.access_information, { ca: 'Y2E=', client_cert: 'Y2VydA==', client_key: '<removed>' });
  t.is(list.items[0].data['ca.key'], 'a2V5', 'the input is not changed');
});

test('settings: RUNBOOK_DIAGNOSTICS=off, RUNBOOK_DIAGNOSTICS_DIR, and the default in the runbook\'s folder', (t) => {
  t.true(diagnosticsOff({ RUNBOOK_DIAGNOSTICS: 'off' }));
  t.true(diagnosticsOff({ RUNBOOK_DIAGNOSTICS: 'OFF' }));
  t.false(diagnosticsOff({}));
  t.false(diagnosticsOff({ RUNBOOK_DIAGNOSTICS: 'on' }));
  t.is(diagnosticsDir({}), DEFAULT_DIR);
  t.is(path.relative(ROOT, DEFAULT_DIR), path.join('.runbook', 'diagnostics'));
  t.is(diagnosticsDir({ RUNBOOK_DIAGNOSTICS_DIR: 'x/y' }), path.resolve('x/y'));
});

test('a bundle with neither kubectl nor cilium: every read fails, the bundle still holds the failure (scrubbed), 0700/0600', async (t) => {
  const base = path.join(tempDir('runbook-diag-'), 'bundles');
  const empty = tempDir('runbook-empty-path-');
  const config = articleConfig();
  const now = new Date('2026-01-02T03:04:05.678Z');
  const failure = {
    step: '07 Connect the clusters', action: 'Connect cluster-a and cluster-b', message: 'connect failed',
    tool: { line: 'cilium clustermesh connect', code: 1, stderr: `Error: boom\n${KEY}`, stdout: `out ${Buffer.from(KEY).toString('base64')}` },
  };
  const env = { PATH: empty, RUNBOOK_DIAGNOSTICS_DIR: base };
  const r = await saveDiagnostics(config, failure, { env, now });
  if (!r || 'error' in r) return t.fail(JSON.stringify(r));
  t.is(r.dir, path.join(base, '2026-01-02T03-04-05Z'));
  t.is(fs.statSync(r.dir).mode & 0o777, 0o700);
  const files = fs.readdirSync(r.dir).sort();
  t.true(files.includes('summary.txt') && files.includes('failure.txt') && files.includes('a-cilium-status.error.txt') && files.includes('b-pools.error.txt'), files.join(' '));
  for (const f of files) {
    t.is(fs.statSync(path.join(r.dir, f)).mode & 0o777, 0o600, f);
    t.notRegex(fs.readFileSync(path.join(r.dir, f), 'utf8'), /PRIVATE KEY|MHcCAQEEIBkPq0mZ/, f);
  }
  const failureText = fs.readFileSync(path.join(r.dir, 'failure.txt'), 'utf8');
  t.regex(failureText, /^step: 07 Connect the clusters\naction: Connect cluster-a and cluster-b\nerror: connect failed\ncommand: cilium clustermesh connect\nexit code: 1\n--- stderr\nError: boom\n/);
  t.true(r.missing.length >= 22, r.missing.join('\n'));
  t.deepEqual(r.findings, []);
  t.regex(fs.readFileSync(path.join(r.dir, 'summary.txt'), 'utf8'), /no known failure recognised[\s\S]*not collected:\n {2}cluster-a: cilium status --context cluster-a -o json failed/);

  const again = await saveDiagnostics(config, failure, { env, now });
  t.is(again && 'dir' in again ? again.dir : '', path.join(base, '2026-01-02T03-04-05Z-2'), 'a second bundle in the same second gets its own folder');
  t.is(await saveDiagnostics(config, failure, { env: { ...env, RUNBOOK_DIAGNOSTICS: 'off' }, now }), null);

  const blocked = path.join(tempDir('runbook-diag-'), 'file');
  fs.writeFileSync(blocked, '');
  const cannot = await saveDiagnostics(config, failure, { env: { ...env, RUNBOOK_DIAGNOSTICS_DIR: path.join(blocked, 'sub') }, now });
  t.truthy(cannot && 'error' in cannot && /ENOTDIR|EEXIST/.test(cannot.error), JSON.stringify(cannot));
});
