// @ts-check
// Every kind the real Cilium 1.19 chart renders (with the runbook's values,
// clustermesh enabled with tls.auto.method=cronJob; PodDisruptionBudgets,
// IngressClass and ResourceQuota with other values) is accepted by the twin
// through the real kubectl: discovery, apply (client- and server-side), the
// Tables of `kubectl get`, list+watch from a resourceVersion as Helm 4's status
// watcher does, and delete. With RUNBOOK_REAL_CILIUM set, the real CLI's own
// `install --dry-run` output is applied and deleted too.
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { twinForTest, apiRequest, openWatch } from '../support/twin-harness.mjs';
import { scaled } from '../support/time.mjs';

const NS = 'kube-system';
const pod = { containers: [{ name: 'c', image: 'quay.io/cilium/cilium:v1.19.5' }] };
const labels = { 'k8s-app': 'x' };

/** One object of each kind, shaped like the chart's. @type {Array<Record<string, any>>} */
const OBJECTS = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cilium-secrets', labels: { 'app.kubernetes.io/part-of': 'cilium' } } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'x', namespace: NS } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: NS }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eA==' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: NS }, data: { a: 'b' } },
  { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'x', namespace: NS }, spec: { hard: { pods: '10k' }, scopeSelector: { matchExpressions: [{ operator: 'In', scopeName: 'PriorityClass', values: ['system-node-critical'] }] } } },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'x' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'x' }, subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: NS }] },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'x', namespace: 'cilium-secrets' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'x', namespace: 'cilium-secrets' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }, subjects: [{ kind: 'ServiceAccount', name: 'x', namespace: NS }] },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'x', namespace: NS }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
  { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'cilium' }, spec: { controller: 'cilium.io/ingress-controller' } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: NS }, spec: { selector: labels, ports: [{ port: 443, targetPort: 4244 }], internalTrafficPolicy: 'Local' } },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x', namespace: NS }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: pod } } },
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: NS }, spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: pod } } },
  { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x', namespace: NS }, spec: { template: { spec: { ...pod, restartPolicy: 'OnFailure' } } } },
  { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x', namespace: NS }, spec: { schedule: '0 0 1 */4 *', concurrencyPolicy: 'Forbid', jobTemplate: { spec: { template: { spec: { ...pod, restartPolicy: 'OnFailure' } } } } } },
];

/** REST collection path of an object. @param {Record<string, any>} o */
function collection(o) {
  const plural = { Namespace: 'namespaces', ServiceAccount: 'serviceaccounts', Secret: 'secrets', ConfigMap: 'configmaps', ResourceQuota: 'resourcequotas', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings', PodDisruptionBudget: 'poddisruptionbudgets', IngressClass: 'ingressclasses', Service: 'services', DaemonSet: 'daemonsets', Deployment: 'deployments', Job: 'jobs', CronJob: 'cronjobs' }[/** @type {string} */ (o.kind)];
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  return o.metadata.namespace ? `${base}/namespaces/${o.metadata.namespace}/${plural}` : `${base}/${plural}`;
}

const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS });

test('discovery names the batch, policy and networking kinds with their short names', async (t) => {
  const { kubectl } = await twinForTest(t);
  const r = await kubectl(['api-resources', '--no-headers']);
  t.is(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').map((l) => l.trim().split(/\s+/));
  const row = (/** @type {string} */ name) => rows.find((x) => x[0] === name);
  t.deepEqual(row('jobs'), ['jobs', 'batch/v1', 'true', 'Job']);
  t.deepEqual(row('cronjobs'), ['cronjobs', 'cj', 'batch/v1', 'true', 'CronJob']);
  t.deepEqual(row('poddisruptionbudgets'), ['poddisruptionbudgets', 'pdb', 'policy/v1', 'true', 'PodDisruptionBudget']);
  t.deepEqual(row('ingressclasses'), ['ingressclasses', 'networking.k8s.io/v1', 'false', 'IngressClass']);
  t.deepEqual(row('resourcequotas'), ['resourcequotas', 'quota', 'v1', 'true', 'ResourceQuota']);
  t.deepEqual(row('clusterroles'), ['clusterroles', 'rbac.authorization.k8s.io/v1', 'false', 'ClusterRole']);
});

for (const serverSide of [false, true]) {
  test(`every kind of the chart applies${serverSide ? ' server-side' : ''}, prints and deletes`, async (t) => {
    const { kubectl, a } = await twinForTest(t);
    const r = await kubectl(['apply', ...(serverSide ? ['--server-side'] : []), '-f', '-'], { input: list });
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout.trim().split('\n').length, OBJECTS.length);
    const job = a.store.get('batch/jobs', NS, 'x');
    t.like(job?.spec, { completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false });
    t.is(job?.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], job?.metadata.uid);
    t.like(job?.spec.template.metadata.labels, { 'batch.kubernetes.io/job-name': 'x', 'job-name': 'x', 'controller-uid': job?.metadata.uid });
    const cron = a.store.get('batch/cronjobs', NS, 'x')?.spec;
    t.like(cron, { suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
    // As the real apiserver (test/real/twin-vs-real-api.test.mjs): the Job defaults come when the Job is made, not in its template.
    t.is(cron?.jobTemplate.spec.backoffLimit, undefined);
    const get = await kubectl(['get', 'jobs,cronjobs,pdb,ingressclasses,quota,roles,rolebindings', '-A']);
    t.is(get.code, 0, get.stderr);
    // No controllers here: the Job has not started, so no Duration.
    t.regex(get.stdout, /NAMESPACE\s+NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nkube-system\s+job\.batch\/x\s+Running\s+0\/1\s+\d+s\n/);
    t.regex(get.stdout, /NAMESPACE\s+NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\nkube-system\s+poddisruptionbudget\.policy\/x\s+N\/A\s+1\s+0\s+\d+s\n/);
    t.regex(get.stdout, /NAME\s+CONTROLLER\s+PARAMETERS\s+AGE\n\s+ingressclass\.networking\.k8s\.io\/cilium\s+cilium\.io\/ingress-controller\s+<none>\s+\d+s\n/);
    const again = await kubectl(['apply', ...(serverSide ? ['--server-side'] : []), '-f', '-'], { input: list });
    t.is(again.code, 0, again.stderr);
    const d = await kubectl(['delete', '-f', '-', '--wait=false'], { input: list });
    t.is(d.code, 0, d.stderr);
    for (const o of OBJECTS) {
      if (o.kind === 'Namespace') continue; // Terminating a moment longer
      const res = await apiRequest(a, 'GET', `${collection(o)}/${o.metadata.name}`);
      t.is(res.status, 404, `${o.kind} deleted`);
    }
  });
}

test('invalid Jobs and CronJobs are refused as a real server refuses them', async (t) => {
  const { kubectl } = await twinForTest(t);
  const bad = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bad' }, spec: { template: { spec: pod } } };
  const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(bad) });
  t.is(r.code, 1);
  t.is(r.stderr, 'The Job "bad" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"\n');
  const cj = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'bad' }, spec: { schedule: 'every day', jobTemplate: { spec: { template: { spec: { ...pod, restartPolicy: 'Never' } } } } } };
  const c = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(cj) });
  t.is(c.code, 1);
  t.regex(c.stderr, /^The CronJob "bad" is invalid: spec\.schedule: Invalid value: "every day": /);
  const ok = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'ok' }, spec: { template: { spec: { ...pod, restartPolicy: 'Never' } } } };
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(ok) })).code, 0);
  const changed = structuredClone(ok);
  changed.spec.template.spec.containers[0].image = 'busybox:1.37';
  const imm = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(changed) });
  t.is(imm.code, 1);
  t.regex(imm.stderr, /spec\.template: Invalid value: .*: field is immutable/);
});

test('list, then watch from its resourceVersion, sees each kind created and deleted (Helm 4 status watcher)', async (t) => {
  const { a } = await twinForTest(t);
  for (const o of OBJECTS) {
    const path = collection(o);
    const l = await apiRequest(a, 'GET', path);
    t.is(l.status, 200, path);
    t.is(l.json.kind, `${o.kind}List`);
    const w = await openWatch(a, `${path}?watch=true&resourceVersion=${l.json.metadata.resourceVersion}&allowWatchBookmarks=true`);
    t.teardown(() => w.close());
    t.is(w.status, 200);
    const created = await apiRequest(a, 'POST', path, { body: o });
    t.is(created.status, 201, `${o.kind}: ${created.text}`);
    /** @type {{ type: string, object: any } | undefined} */
    let e;
    do e = await w.next(); while (e && e.type === 'BOOKMARK');
    t.like(e, { type: 'ADDED', object: { kind: o.kind, metadata: { name: o.metadata.name } } }, o.kind);
    const del = await apiRequest(a, 'DELETE', `${path}/${o.metadata.name}`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
    t.is(del.status, 200);
    do e = await w.next(); while (e && (e.type === 'BOOKMARK' || (o.kind === 'Namespace' && e.type === 'MODIFIED')));
    t.like(e, { type: 'DELETED', object: { kind: o.kind, metadata: { name: o.metadata.name } } }, o.kind);
    w.close();
    if (o.kind === 'Namespace') await apiRequest(a, 'POST', path, { body: o }); // its Roles follow
  }
});

const REAL = process.env.RUNBOOK_REAL_CILIUM;
(REAL ? test : test.skip)("the real CLI's `install --dry-run` manifest (clustermesh, cronJob certificates) applies and deletes", async (t) => {
  const { kubectl, twin } = await twinForTest(t);
  const values = join(twin.dir, 'values.yaml');
  await writeFile(values, [
    'cluster:', '  name: cluster-a', '  id: 1', 'kubeProxyReplacement: true', `k8sServiceHost: ${twin.clusters.a.nodes[0].ip}`, 'k8sServicePort: 6443',
    'ipam:', '  operator:', '    clusterPoolIPv4PodCIDRList: ["10.42.0.0/16"]', 'l2announcements:', '  enabled: true',
    'hubble:', '  relay:', '    enabled: true', '  ui:', '    enabled: true',
    'clustermesh:', '  useAPIServer: true', '  apiserver:', '    service:', '      type: LoadBalancer',
    '    tls:', '      auto:', '        enabled: true', '        method: cronJob', '        schedule: "0 0 1 */4 *"', '',
  ].join('\n'));
  const manifest = await new Promise((resolve, reject) => execFile(/** @type {string} */ (REAL),
    ['--context', 'cluster-a', 'install', '--version', '1.19.5', '--values', values, '--dry-run'],
    { env: { ...process.env, KUBECONFIG: twin.kubeconfig }, timeout: scaled(120_000), maxBuffer: 64 << 20 },
    (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))));
  const kinds = new Set([.../** @type {string} */ (manifest).matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]));
  t.log([...kinds].sort().join(' '));
  for (const k of ['Job', 'CronJob', 'ClusterRole', 'RoleBinding', 'Namespace']) t.true(kinds.has(k), k);
  const r = await kubectl(['apply', '--server-side', '-f', '-'], { input: /** @type {string} */ (manifest) });
  t.is(r.code, 0, r.stderr);
  const d = await kubectl(['delete', '-f', '-', '--wait=false', '--ignore-not-found'], { input: /** @type {string} */ (manifest) });
  t.is(d.code, 0, d.stderr);
});
