// @ts-check
// ServiceAccounts on the twin as in a real cluster: `cilium install` and
// `clustermesh enable` create the chart's accounts and RBAC (so its pods are
// admitted), the API server refuses a pod whose account is missing with the
// apiserver's words, a workload's refused pods show as FailedCreate events
// until the account exists, and every namespace gets its "default" account.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { startTwin } from '../../twin/twin.mjs';
import { apiRequest } from '../support/twin-harness.mjs';
import { kubectl as runKubectl } from '../support/kubectl.mjs';
import { scaled, waitFor } from '../support/time.mjs';

const BIN = fileURLToPath(new URL('../../twin/bin/cilium', import.meta.url));
const NS = 'kube-system';

/** @type {import('../../twin/server/types.js').RunningTwin} */
let twin;

test.before(async () => {
  twin = await startTwin({
    cleanup: true, dataplane: false, nodeIpBase: { a: '127.77.61.1', b: '127.77.62.1' },
    delays: { podReadyMs: 100, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 },
  });
});
test.after.always(async () => { await twin?.stop(); });

/** @param {string[]} args @returns {Promise<{ code: number, stdout: string, stderr: string }>} */
function cilium(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, KUBECONFIG: twin.kubeconfig, TWIN_CILIUM_RETRY_MS: '100' }, timeout: scaled(60_000),
    }, (err, stdout, stderr) => resolve({ code: err ? Number(/** @type {any} */ (err).code) : 0, stdout, stderr }));
  });
}

/** @param {string[]} args @param {'a'|'b'} [k] @param {string} [input] */
const kubectl = (args, k = 'a', input) => runKubectl(args, { kubeconfig: twin.kubeconfig, cacheDir: `${twin.dir}/kube-cache`, context: `cluster-${k}`, ...(input ? { input } : {}) });

/** @param {'a'|'b'} k */
const store = (k) => twin.clusters[k].store;

/** Pods whose owner (a ReplicaSet of the Deployment, or the DaemonSet) is named like `prefix`. @param {'a'|'b'} k @param {string} ns @param {string} prefix */
const podsOf = (k, ns, prefix) => store(k).list('/pods', ns).filter((p) => (p.metadata.ownerReferences ?? [])
  .some((/** @type {any} */ r) => r.name === prefix || (r.kind === 'ReplicaSet' && r.name.startsWith(`${prefix}-`) && r.name.split('-').length === prefix.split('-').length + 1)));

/** @param {import('../../twin/store/types.js').KubeObject} p */
const ready = (p) => (p.status?.conditions ?? []).some((/** @type {any} */ c) => c.type === 'Ready' && c.status === 'True');

/** The Deployment's pod spec as the owner asked for it. @param {string} name @param {string} sa */
const deployment = (name, sa) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
  spec: {
    replicas: 1, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { hostNetwork: true, serviceAccountName: sa, containers: [{ name, image: `example/${name}:v1` }] } },
  },
});

test.serial('cilium install: the chart\'s ServiceAccounts and RBAC exist, the operator\'s pods run under theirs', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'install', '--version', '1.19.3', '--set', 'cluster.name=cluster-a', '--set', 'cluster.id=1',
    '--set', 'hubble.relay.enabled=true']);
  t.is(r.code, 0, r.stderr);
  for (const name of ['cilium', 'cilium-envoy', 'cilium-operator', 'hubble-relay']) {
    t.truthy(store('a').get('/serviceaccounts', NS, name), `ServiceAccount ${NS}/${name} is missing`);
  }
  const sa = store('a').get('/serviceaccounts', NS, 'cilium-operator');
  t.is(sa?.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', 'the ServiceAccount belongs to the release');
  for (const [res, name] of [['clusterroles', 'cilium'], ['clusterroles', 'cilium-operator'], ['clusterrolebindings', 'cilium'], ['clusterrolebindings', 'cilium-operator']]) {
    const o = store('a').get(`rbac.authorization.k8s.io/${res}`, '', name);
    t.is(o?.metadata.labels?.['app.kubernetes.io/part-of'], 'cilium', `${res}/${name}: ${JSON.stringify(o?.metadata)}`);
  }
  t.deepEqual(store('a').get('rbac.authorization.k8s.io/clusterrolebindings', '', 'cilium-operator')?.subjects,
    [{ kind: 'ServiceAccount', name: 'cilium-operator', namespace: NS }]);
  t.truthy(store('a').get('rbac.authorization.k8s.io/roles', NS, 'cilium-config-agent'));
  t.truthy(store('a').get('rbac.authorization.k8s.io/rolebindings', NS, 'cilium-config-agent'));

  const pods = await waitFor(() => {
    const p = podsOf('a', NS, 'cilium-operator');
    return p.length && p.every(ready) ? p : undefined;
  }, 'the operator pods ready', 20_000);
  for (const p of pods) t.is(p.spec.serviceAccountName, 'cilium-operator');
  t.is(podsOf('a', NS, 'cilium').length, twin.clusters.a.nodes.length, 'one agent per node');

  const rel = store('a').list('/secrets', NS).find((s) => s.metadata.labels?.owner === 'helm');
  const manifest = JSON.parse(gunzipSync(Buffer.from(Buffer.from(rel?.data.release, 'base64').toString(), 'base64')).toString()).manifest;
  const kinds = [...manifest.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
  t.true(kinds.lastIndexOf('ServiceAccount') < kinds.indexOf('DaemonSet'), `ServiceAccounts are installed before the workloads: ${kinds.join(',')}`);
});

test.serial('clustermesh enable: the clustermesh-apiserver and certgen accounts and the apiserver\'s ClusterRole', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'clustermesh', 'enable', '--service-type', 'NodePort']);
  t.is(r.code, 0, r.stderr);
  t.truthy(store('a').get('/serviceaccounts', NS, 'clustermesh-apiserver'));
  t.truthy(store('a').get('/serviceaccounts', NS, 'clustermesh-apiserver-generate-certs'));
  t.deepEqual(store('a').get('rbac.authorization.k8s.io/clusterrolebindings', '', 'clustermesh-apiserver')?.subjects,
    [{ kind: 'ServiceAccount', name: 'clustermesh-apiserver', namespace: NS }]);
  t.truthy(store('a').get('rbac.authorization.k8s.io/clusterroles', '', 'clustermesh-apiserver'));
  await waitFor(() => podsOf('a', NS, 'clustermesh-apiserver').some(ready), 'a clustermesh-apiserver pod ready', 20_000);
});

test.serial('a pod whose ServiceAccount is missing is refused with the apiserver\'s Forbidden', async (t) => {
  const c = twin.clusters.a;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lonely' }, spec: { serviceAccountName: 'ghost', containers: [{ name: 'c', image: 'busybox' }] } };
  const r = await apiRequest(c, 'POST', '/api/v1/namespaces/default/pods', { body: pod });
  t.is(r.status, 403, r.text);
  t.like(r.json, {
    kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, details: { name: 'lonely', kind: 'pods' },
    message: 'pods "lonely" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
  });
  const gen = await apiRequest(c, 'POST', '/api/v1/namespaces/default/pods', { body: { ...pod, metadata: { generateName: 'web-' } } });
  t.is(gen.json?.message, 'pods "web-" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found',
    'a pod named by generateName is refused under that prefix');
  t.is(store('a').get('/pods', 'default', 'lonely'), undefined, 'nothing was stored');

  const k = await kubectl(['apply', '-f', '-'], 'a', JSON.stringify(pod));
  t.is(k.code, 1);
  t.regex(k.stderr, /Error from server \(Forbidden\): .*pods "lonely" is forbidden: error looking up service account default\/ghost: serviceaccount "ghost" not found/);

  const ok = await apiRequest(c, 'POST', '/api/v1/namespaces/default/pods', { body: { ...pod, spec: { containers: pod.spec.containers } } });
  t.is(ok.status, 201, `a pod of the "default" account is admitted: ${ok.text}`);
  t.is(ok.json?.spec.serviceAccountName, 'default');
});

test.serial('a Deployment whose account is missing gets no pods, FailedCreate events, then pods once the account exists', async (t) => {
  store('a').create('apps/deployments', deployment('late', 'late-sa'));
  const ev = await waitFor(() => store('a').list('/events', 'default').find((e) => e.reason === 'FailedCreate' && String(e.involvedObject?.name).startsWith('late-')),
    'a FailedCreate event on the ReplicaSet', 10_000);
  t.is(ev.type, 'Warning');
  t.is(ev.involvedObject.kind, 'ReplicaSet');
  t.is(ev.message, `Error creating: pods "${ev.involvedObject.name}-" is forbidden: error looking up service account default/late-sa: serviceaccount "late-sa" not found`);
  t.is(podsOf('a', 'default', 'late').length, 0, 'no pod while the account is missing');

  const sa = await kubectl(['create', 'serviceaccount', 'late-sa', '-n', 'default']);
  t.is(sa.code, 0, sa.stderr);
  const pods = await waitFor(() => {
    const p = podsOf('a', 'default', 'late');
    return p.length && p.every(ready) ? p : undefined;
  }, 'the Deployment\'s pod ready once its account exists', 10_000);
  t.is(pods[0].spec.serviceAccountName, 'late-sa');
});

test.serial('serviceAccounts.operator.create=false: no account rendered, the operator\'s pods wait for one made by hand', async (t) => {
  const r = await cilium(['--context', 'cluster-b', 'install', '--version', '1.19.3', '--set', 'cluster.name=cluster-b', '--set', 'cluster.id=2',
    '--set', 'serviceAccounts.operator.create=false', '--set', 'serviceAccounts.operator.name=my-operator']);
  t.is(r.code, 0, r.stderr);
  t.is(store('b').get('/serviceaccounts', NS, 'my-operator'), undefined);
  t.is(store('b').get('/serviceaccounts', NS, 'cilium-operator'), undefined);
  t.is(store('b').get('rbac.authorization.k8s.io/clusterrolebindings', '', 'cilium-operator'), undefined, 'no binding without the account');
  t.truthy(store('b').get('rbac.authorization.k8s.io/clusterroles', '', 'cilium-operator'), 'the ClusterRole follows rbac.create');
  await waitFor(() => store('b').list('/events', NS).find((e) => e.reason === 'FailedCreate' && /service account kube-system\/my-operator/.test(e.message)),
    'FailedCreate for the operator', 10_000);
  t.is(podsOf('b', NS, 'cilium-operator').length, 0);
  const sa = await kubectl(['create', 'serviceaccount', 'my-operator', '-n', NS], 'b');
  t.is(sa.code, 0, sa.stderr);
  const pods = await waitFor(() => {
    const p = podsOf('b', NS, 'cilium-operator');
    return p.length && p.every(ready) ? p : undefined;
  }, 'operator pods once the account exists', 20_000);
  t.is(pods[0].spec.serviceAccountName, 'my-operator');
});

test.serial('every namespace has a "default" ServiceAccount, made again when deleted', async (t) => {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    t.truthy(store('b').get('/serviceaccounts', ns, 'default'), `default account in ${ns}`);
  }
  const c = await kubectl(['create', 'namespace', 'fresh'], 'b');
  t.is(c.code, 0, c.stderr);
  const g = await kubectl(['get', 'serviceaccount', 'default', '-n', 'fresh', '-o', 'name'], 'b');
  t.is(g.code, 0, g.stderr);
  t.is(g.stdout.trim(), 'serviceaccount/default');
  const run = await kubectl(['run', 'probe', '-n', 'fresh', '--image', 'busybox'], 'b');
  t.is(run.code, 0, `a pod in the new namespace is admitted: ${run.stderr}`);
  const del = await kubectl(['delete', 'serviceaccount', 'default', '-n', 'fresh'], 'b');
  t.is(del.code, 0, del.stderr);
  await waitFor(() => store('b').get('/serviceaccounts', 'fresh', 'default'), 'the default account made again', 5_000);
  t.pass();
});
