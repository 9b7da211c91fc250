// @ts-check
// The twin's chart renders templates/clustermesh-apiserver/tls-cronjob/ of chart
// 1.19 for tls.auto.method=cronJob (what `cilium clustermesh enable` sets): names,
// labels, certgen's args and CILIUM_CERTGEN_CONFIG; a changed spec renames the Job.
import test from 'ava';
import { parse } from 'yaml';
import { renderCertgen } from '../../twin/cilium/chart-certgen.mjs';

const base = () => ({
  cluster: { name: 'cluster-a', id: 1 },
  clustermesh: {
    useAPIServer: true,
    apiserver: { kvstoremesh: { enabled: true, kvstoreMode: 'internal' }, tls: { authMode: 'migration', auto: { enabled: true, method: 'cronJob', certValidityDuration: 1095, schedule: '0 0 1 */4 *' } } },
  },
});

test('cronJob method: CronJob, Job, Role, RoleBinding, ServiceAccount with the chart names, labels and args', (t) => {
  const out = renderCertgen(base(), 'kube-system', {});
  t.deepEqual(out.map((r) => r.source), ['cronjob', 'job', 'role', 'rolebinding', 'serviceaccount'].map((f) => `clustermesh-apiserver/tls-cronjob/${f}.yaml`));
  const [cj, job, role, rb, sa] = out.map((r) => /** @type {any} */ (r.obj));
  t.like(cj, { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'clustermesh-apiserver-generate-certs', labels: { 'k8s-app': 'clustermesh-apiserver-generate-certs', 'app.kubernetes.io/part-of': 'cilium' } } });
  t.like(cj.spec, { schedule: '0 0 1 */4 *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
  t.deepEqual(cj.spec.jobTemplate.spec, job.spec, 'the CronJob runs the same spec');
  t.regex(job.metadata.name, /^clustermesh-apiserver-generate-certs-[0-9a-f]{10}$/);
  const pod = job.spec.template.spec;
  t.like(pod, { restartPolicy: 'OnFailure', hostNetwork: false, serviceAccountName: 'clustermesh-apiserver-generate-certs', automountServiceAccountToken: true });
  t.is(pod.containers[0].image, 'quay.io/cilium/certgen:v0.4.5');
  t.deepEqual(pod.containers[0].command, ['/usr/bin/cilium-certgen']);
  t.deepEqual(pod.containers[0].args, ['--ca-generate=true', '--ca-reuse-secret', '--ca-secret-namespace=kube-system', '--ca-secret-name=cilium-ca', '--ca-common-name=Cilium CA']);
  const config = parse(pod.containers[0].env[0].value);
  t.deepEqual(config.certs.map((/** @type {any} */ c) => [c.name, c.commonName, c.validity]), [
    ['clustermesh-apiserver-server-cert', 'clustermesh-apiserver.cilium.io', '26280h'],
    ['clustermesh-apiserver-admin-cert', 'admin-cluster-a', '26280h'],
    ['clustermesh-apiserver-remote-cert', 'remote', '26280h'],
    ['clustermesh-apiserver-local-cert', 'local-cluster-a', '26280h'],
  ]);
  t.deepEqual(config.certs[0].hosts, ['clustermesh-apiserver.cilium.io', '*.mesh.cilium.io', 'clustermesh-apiserver.kube-system.svc', '127.0.0.1', '::1']);
  t.deepEqual(config.certs[0].usage, ['signing', 'key encipherment', 'server auth']);
  t.true(role.rules.some((/** @type {any} */ r) => r.resourceNames?.includes('cilium-ca') && r.verbs.includes('get')));
  t.like(rb, { roleRef: { kind: 'Role', name: 'clustermesh-apiserver-generate-certs' }, subjects: [{ kind: 'ServiceAccount', name: 'clustermesh-apiserver-generate-certs', namespace: 'kube-system' }] });
  t.is(sa.metadata.name, 'clustermesh-apiserver-generate-certs');
});

test('authMode cluster names the remote certificate per cluster; no kvstoremesh, no local certificate; a new spec, a new Job name', (t) => {
  const v = base();
  v.clustermesh.apiserver.tls.authMode = 'cluster';
  v.clustermesh.apiserver.kvstoremesh.enabled = false;
  const job = /** @type {any} */ (renderCertgen(v, 'kube-system', {}).find((r) => r.obj.kind === 'Job')?.obj);
  const certs = parse(job.spec.template.spec.containers[0].env[0].value).certs;
  t.deepEqual(certs.map((/** @type {any} */ c) => c.commonName), ['clustermesh-apiserver.cilium.io', 'admin-cluster-a', 'remote-cluster-a']);
  const before = /** @type {any} */ (renderCertgen(base(), 'kube-system', {}).find((r) => r.obj.kind === 'Job')?.obj);
  t.not(job.metadata.name, before.metadata.name);
});

test('other methods and no schedule: nothing, or no CronJob', (t) => {
  const helm = base();
  helm.clustermesh.apiserver.tls.auto.method = 'helm';
  t.deepEqual(renderCertgen(helm, 'kube-system', {}), []);
  const once = base();
  delete (/** @type {any} */ (once.clustermesh.apiserver.tls.auto)).schedule;
  t.deepEqual(renderCertgen(once, 'kube-system', {}).map((r) => r.obj.kind), ['Job', 'Role', 'RoleBinding', 'ServiceAccount']);
});
