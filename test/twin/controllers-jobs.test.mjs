// @ts-check
// The Job controller with the real kubectl: a Job's pod runs and completes
// (status and conditions of Kubernetes 1.31+), the chart's certgen Job makes the
// clustermesh certificates signed by cilium-ca, a certgen that cannot work fails
// the Job past its backoffLimit, and a deleted Job's pods are orphaned or removed
// as the propagation policy says; a pod left running by a stopped twin finishes;
// a PodDisruptionBudget's status follows its pods.
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { twinForTest, apiRequest, waitFor } from '../support/twin-harness.mjs';
import { renderCertgen } from '../../twin/cilium/chart-certgen.mjs';
import { startControllers } from '../../twin/controllers/index.mjs';
import { fakeTwin, waitFor as waitForKit } from '../../twin/controllers/testkit.mjs';
import { scaledSeconds } from '../support/time.mjs';

const NS = 'kube-system';
const DELAYS = { podReadyMs: 100, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 };

/** A cilium agent DaemonSet: once its pods run, nodes have a CNI and ordinary pods can start. */
const agents = {
  apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'cilium', namespace: NS },
  spec: {
    selector: { matchLabels: { 'k8s-app': 'cilium' } },
    template: { metadata: { labels: { 'k8s-app': 'cilium' } }, spec: { hostNetwork: true, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'cilium-agent', image: 'quay.io/cilium/cilium:v1.19.5' }] } },
  },
};

/** @param {string} name @param {Record<string, any>} [podSpec] @param {Record<string, any>} [jobSpec] */
const job = (name, podSpec = {}, jobSpec = {}) => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'default' },
  spec: { ...jobSpec, template: { spec: { restartPolicy: 'Never', hostNetwork: true, containers: [{ name: 'main', image: 'busybox:1.36' }], ...podSpec } } },
});

/** @param {string} b64 */
const pem = (b64) => Buffer.from(b64, 'base64').toString('utf8');

test('a Job runs its pod to completion: kubectl wait, status, conditions and the Table', async (t) => {
  const { kubectl, a } = await twinForTest(t, { controllers: true, delays: DELAYS });
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(job('hello')) })).code, 0);
  const w = await kubectl(['wait', '--for=condition=complete', 'job/hello', `--timeout=${scaledSeconds(60)}`]);
  t.is(w.code, 0, w.stderr);
  t.is(w.stdout, 'job.batch/hello condition met\n');
  const j = JSON.parse((await kubectl(['get', 'job', 'hello', '-o', 'json'])).stdout);
  t.is(j.status.succeeded, 1);
  t.false('active' in j.status, 'zero counters are omitted');
  t.truthy(j.status.startTime);
  t.truthy(j.status.completionTime);
  t.deepEqual(j.status.conditions.map((/** @type {any} */ c) => [c.type, c.status, c.reason]),
    [['SuccessCriteriaMet', 'True', 'CompletionsReached'], ['Complete', 'True', 'CompletionsReached']]);
  t.is(j.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], j.metadata.uid, 'the generated selector names the Job');
  /** @type {any[]} */
  const pods = a.store.list('/pods', 'default');
  t.is(pods.length, 1);
  t.is(pods[0].status.phase, 'Succeeded');
  t.is(pods[0].metadata.labels['job-name'], 'hello');
  t.like(pods[0].metadata.ownerReferences[0], { apiVersion: 'batch/v1', kind: 'Job', name: 'hello', uid: j.metadata.uid, controller: true });
  const table = await kubectl(['get', 'jobs']);
  t.regex(table.stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nhello\s+Complete\s+1\/1\s+\d+s\s+\d+s\n$/);
  t.regex((await kubectl(['get', 'pods', '-l', 'job-name=hello'])).stdout, /\nhello-[bcdfghjklmnpqrstvwxz2456789]{5}\s+0\/1\s+Completed\s+0\s+/);
});

test("the chart's certgen Job makes the clustermesh certificates, signed by the CA it generates", async (t) => {
  const { kubectl, a } = await twinForTest(t, { controllers: true, delays: DELAYS });
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(agents) })).code, 0);
  const values = {
    cluster: { name: 'cluster-a', id: 1 },
    clustermesh: { useAPIServer: true, apiserver: { kvstoremesh: { enabled: true, kvstoreMode: 'internal' }, tls: { authMode: 'migration', auto: { enabled: true, method: 'cronJob', certValidityDuration: 1095, schedule: '0 0 1 */4 *' } } } },
  };
  const objs = renderCertgen(values, NS, {}).map((r) => r.obj);
  t.deepEqual(objs.map((o) => o.kind), ['CronJob', 'Job', 'Role', 'RoleBinding', 'ServiceAccount']);
  const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }) });
  t.is(r.code, 0, r.stderr);
  const name = /** @type {string} */ (objs[1].metadata.name);
  t.regex(name, /^clustermesh-apiserver-generate-certs-[0-9a-f]{10}$/);
  const w = await kubectl(['wait', '-n', NS, '--for=condition=complete', `job/${name}`, `--timeout=${scaledSeconds(60)}`]);
  t.is(w.code, 0, w.stderr);

  const certgenPod = a.store.list('/pods', NS).find((p) => p.metadata.labels?.['job-name'] === name);
  t.is(certgenPod?.status.phase, 'Succeeded');
  t.regex(String(certgenPod?.status.podIP), /^10\.42\.\d+\.\d+$/, "an address of the node's pod range (no cilium-config here: K3s's)");
  const ca = a.store.get('/secrets', NS, 'cilium-ca');
  t.truthy(ca?.data?.['ca.key'], 'certgen stored the CA it generated');
  const caCert = new X509Certificate(pem(ca?.data?.['ca.crt']));
  t.true(caCert.ca);
  t.regex(caCert.subject, /CN=Cilium CA/);
  /** @type {Record<string, string>} */
  const cns = {
    'clustermesh-apiserver-server-cert': 'clustermesh-apiserver.cilium.io', 'clustermesh-apiserver-admin-cert': 'admin-cluster-a',
    'clustermesh-apiserver-remote-cert': 'remote', 'clustermesh-apiserver-local-cert': 'local-cluster-a',
  };
  for (const [secret, cn] of Object.entries(cns)) {
    const s = a.store.get('/secrets', NS, secret);
    t.is(s?.type, 'kubernetes.io/tls', secret);
    t.is(s?.data?.['ca.crt'], ca?.data?.['ca.crt'], `${secret} carries the CA`);
    const leaf = new X509Certificate(pem(s?.data?.['tls.crt']));
    t.true(leaf.verify(caCert.publicKey), `${secret} is signed by cilium-ca`);
    t.is(leaf.subject, `CN=${cn}`);
  }
  const server = new X509Certificate(pem(a.store.get('/secrets', NS, 'clustermesh-apiserver-server-cert')?.data?.['tls.crt']));
  t.regex(String(server.subjectAltName), /DNS:\*\.mesh\.cilium\.io/);
  t.regex(String(server.subjectAltName), /IP Address:127\.0\.0\.1/);
  const cj = await kubectl(['get', 'cronjobs', '-n', NS]);
  t.regex(cj.stdout, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\nclustermesh-apiserver-generate-certs\s+0 0 1 \*\/4 \*\s+<none>\s+False\s+0\s+<none>\s+\d+s\n$/);
});

test('certgen without a CA and with --ca-generate=false fails the Job past its backoffLimit', async (t) => {
  const { kubectl, a } = await twinForTest(t, { controllers: true, delays: DELAYS });
  const certgen = {
    name: 'certgen', image: 'quay.io/cilium/certgen:v0.4.5', command: ['/usr/bin/cilium-certgen'],
    args: ['--ca-generate=false', '--ca-reuse-secret', '--ca-secret-namespace=default', '--ca-secret-name=cilium-ca'],
  };
  const spec = job('certs', { restartPolicy: 'OnFailure', containers: [certgen] }, { backoffLimit: 1 });
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(spec) })).code, 0);
  const w = await kubectl(['wait', '--for=condition=failed', 'job/certs', `--timeout=${scaledSeconds(60)}`]);
  t.is(w.code, 0, w.stderr);
  const j = a.store.get('batch/jobs', 'default', 'certs');
  t.like(j?.status.conditions.find((/** @type {any} */ c) => c.type === 'Failed'), { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
  t.is(a.store.get('/secrets', 'default', 'cilium-ca'), undefined);
  t.regex((await kubectl(['get', 'jobs'])).stdout, /\ncerts\s+Failed\s+0\/1\s+/);
});

test("deleting a Job: no policy orphans its pods with the API's warning; Background (kubectl's default) removes them", async (t) => {
  const { kubectl, a } = await twinForTest(t, { controllers: true, delays: DELAYS });
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [job('one'), job('two')] }) })).code, 0);
  for (const n of ['one', 'two']) t.is((await kubectl(['wait', '--for=condition=complete', `job/${n}`, `--timeout=${scaledSeconds(60)}`])).code, 0);
  const res = await apiRequest(a, 'DELETE', '/apis/batch/v1/namespaces/default/jobs/one');
  t.is(res.status, 200);
  t.is(res.headers.warning, '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"');
  const orphan = a.store.list('/pods', 'default').find((p) => p.metadata.name.startsWith('one-'));
  t.truthy(orphan, 'the pod stays');
  t.is(orphan?.metadata.ownerReferences, undefined, 'without its owner');
  const d = await kubectl(['delete', 'job', 'two']);
  t.is(d.code, 0, d.stderr);
  await waitFor(() => !a.store.list('/pods', 'default').some((p) => p.metadata.name.startsWith('two-')), { what: "the deleted Job's pod to go", timeoutMs: 20_000 });
  t.pass();
});

test('a Job pod left Running by a stopped twin (state saved mid-run) is finished by the next controller', async (t) => {
  const twin = fakeTwin();
  const s = twin.clusters.a.store;
  const j = s.create('batch/jobs', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'left', namespace: 'default' }, spec: { completions: 1, parallelism: 1, backoffLimit: 6, template: { spec: { restartPolicy: 'Never', hostNetwork: true, containers: [{ name: 'main', image: 'busybox:1.36' }] } } }, status: { active: 1, startTime: '2026-01-01T00:00:00Z' } });
  s.create('/pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'left-abcde', namespace: 'default', labels: { 'job-name': 'left' }, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'left', uid: j.metadata.uid, controller: true }] },
    spec: { restartPolicy: 'Never', hostNetwork: true, nodeName: twin.clusters.a.nodes[0].name, containers: [{ name: 'main', image: 'busybox:1.36' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'main', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] },
  });
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  const done = await waitForKit(() => {
    const x = s.get('batch/jobs', 'default', 'left');
    return (x?.status?.conditions ?? []).some((/** @type {any} */ c) => c.type === 'Complete') ? x : undefined;
  }, 'the Job to complete', 10_000);
  t.is(done.status.succeeded, 1);
  t.is(s.get('/pods', 'default', 'left-abcde')?.status.phase, 'Succeeded');
});

test("a PodDisruptionBudget's status follows its pods: kubectl get pdb prints the allowed disruptions", async (t) => {
  const { kubectl, a } = await twinForTest(t, { controllers: true, delays: DELAYS });
  const labels = { app: 'op' };
  const objs = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'op', namespace: 'default' }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { hostNetwork: true, containers: [{ name: 'op', image: 'quay.io/cilium/operator-generic:v1.19.5' }] } } } },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'op', namespace: 'default' }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
  ];
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }) })).code, 0);
  t.is((await kubectl(['rollout', 'status', 'deployment/op', `--timeout=${scaledSeconds(60)}`])).code, 0);
  const pdb = await waitFor(() => {
    const p = a.store.get('policy/poddisruptionbudgets', 'default', 'op');
    return p?.status?.currentHealthy === 2 ? p : undefined;
  }, { what: 'the PDB status', timeoutMs: 20_000 });
  t.like(pdb.status, { expectedPods: 2, currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1, observedGeneration: pdb.metadata.generation });
  t.like(pdb.status.conditions[0], { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' });
  t.regex((await kubectl(['get', 'pdb'])).stdout, /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\nop\s+N\/A\s+1\s+1\s+\d+s\n$/);
});
