// @ts-check
// The twin's API server driven by the real kubectl: discovery, get/create of the
// objects the runbook reads and copies, printing (Tables, -o name/json/yaml/
// jsonpath) and the error texts and exit codes kubectl shows.
import test from 'ava';
import YAML from 'yaml';
import { twinForTest, apiRequest } from '../support/twin-harness.mjs';

/** A Secret as `kubectl get -o json` shows it, with the server fields dropped (as the runbook copies it). */
const caSecret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'cilium-ca',
    namespace: 'kube-system',
    labels: { 'app.kubernetes.io/managed-by': 'Helm' },
    annotations: { 'meta.helm.sh/release-name': 'cilium', 'meta.helm.sh/release-namespace': 'kube-system' },
  },
  type: 'Opaque',
  data: { 'ca.crt': Buffer.from('CERT').toString('base64'), 'ca.key': Buffer.from('KEY').toString('base64') },
};

test('version and discovery: K3s 1.33, short names and subresources', async (t) => {
  const { kubectl } = await twinForTest(t);
  const v = await kubectl(['version', '-o', 'json']);
  t.is(v.code, 0, v.stderr);
  t.is(JSON.parse(v.stdout).serverVersion.gitVersion, 'v1.33.5+k3s1');
  t.is(JSON.parse(v.stdout).serverVersion.platform, 'linux/amd64');
  const r = await kubectl(['api-resources', '--no-headers']);
  t.is(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').map((l) => l.trim().split(/\s+/));
  const row = (/** @type {string} */ name) => rows.find((x) => x[0] === name);
  t.deepEqual(row('deployments'), ['deployments', 'deploy', 'apps/v1', 'true', 'Deployment']);
  t.deepEqual(row('services'), ['services', 'svc', 'v1', 'true', 'Service']);
  t.deepEqual(row('namespaces'), ['namespaces', 'ns', 'v1', 'false', 'Namespace']);
  t.deepEqual(row('customresourcedefinitions'), ['customresourcedefinitions', 'crd,crds', 'apiextensions.k8s.io/v1', 'false', 'CustomResourceDefinition']);
  for (const short of ['ds', 'cm', 'po', 'no', 'ev', 'sa', 'rs']) t.truthy(rows.find((x) => x[1]?.split(',').includes(short)), short);
  t.truthy(row('leases'));
  const unknown = await kubectl(['get', 'frobnicators']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /the server doesn't have a resource type "frobnicators"/);
});

test('legacy discovery documents answer too (clients without aggregated discovery)', async (t) => {
  const { a } = await twinForTest(t);
  const api = await apiRequest(a, 'GET', '/api');
  t.is(api.json.kind, 'APIVersions');
  const groups = await apiRequest(a, 'GET', '/apis');
  t.is(groups.json.kind, 'APIGroupList');
  t.truthy(groups.json.groups.find((/** @type {any} */ g) => g.name === 'apps'));
  const apps = await apiRequest(a, 'GET', '/apis/apps/v1');
  const names = apps.json.resources.map((/** @type {any} */ r) => r.name);
  t.true(names.includes('deployments/scale'));
  t.true(names.includes('deployments/status'));
  const scale = apps.json.resources.find((/** @type {any} */ r) => r.name === 'deployments/scale');
  t.like(scale, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  const agg = await apiRequest(a, 'GET', '/apis', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
  t.is(agg.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  t.is(agg.json.kind, 'APIGroupDiscoveryList');
  const openapi = await apiRequest(a, 'GET', '/openapi/v3');
  t.truthy(openapi.json.paths['apis/apps/v1']);
  t.is((await apiRequest(a, 'GET', '/openapi/v2')).json.swagger, '2.0');
  t.is((await apiRequest(a, 'GET', '/healthz')).text, 'ok');
  t.is((await apiRequest(a, 'GET', '/readyz')).status, 200);
});

test('get of a missing Secret: NotFound, exit 1, the real message', async (t) => {
  const { kubectl } = await twinForTest(t);
  const r = await kubectl(['get', 'secret', '-n', 'kube-system', 'cilium-ca', '-o', 'json']);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(r.stderr.trim(), 'Error from server (NotFound): secrets "cilium-ca" not found');
});

test('create -f - of a copied Secret, then AlreadyExists; label selectors find Helm release Secrets', async (t) => {
  const { kubectl, b } = await twinForTest(t);
  const created = await kubectl(['--context', 'cluster-b', 'create', '-f', '-'], { input: JSON.stringify(caSecret) });
  t.is(created.code, 0, created.stderr);
  t.is(created.stdout.trim(), 'secret/cilium-ca created');
  const stored = b.store.get('/secrets', 'kube-system', 'cilium-ca');
  t.deepEqual(stored?.data, caSecret.data);
  t.is(stored?.metadata.annotations?.['meta.helm.sh/release-name'], 'cilium');
  const again = await kubectl(['--context', 'cluster-b', 'create', '-f', '-'], { input: JSON.stringify(caSecret) });
  t.is(again.code, 1);
  t.is(again.stderr.trim(), 'Error from server (AlreadyExists): error when creating "STDIN": secrets "cilium-ca" already exists');

  // kubectl create clears a copied resourceVersion itself; a client that sends one is refused, as by a real server.
  const withRv = { ...caSecret, metadata: { ...caSecret.metadata, name: 'copy', resourceVersion: '12' } };
  const viaKubectl = await kubectl(['--context', 'cluster-b', 'create', '-f', '-'], { input: JSON.stringify(withRv) });
  t.is(viaKubectl.code, 0, viaKubectl.stderr);
  const raw = await apiRequest(b, 'POST', '/api/v1/namespaces/kube-system/secrets', { body: { ...withRv, metadata: { ...withRv.metadata, name: 'copy2' } } });
  t.is(raw.status, 500);
  t.is(raw.json.message, 'resourceVersion should not be set on objects to be created');

  for (const [n, status] of [[1, 'superseded'], [2, 'deployed']]) {
    b.store.create('/secrets', {
      apiVersion: 'v1', kind: 'Secret', type: 'helm.sh/release.v1',
      metadata: { name: `sh.helm.release.v1.cilium.v${n}`, namespace: 'kube-system', labels: { owner: 'helm', name: 'cilium', status: String(status), version: String(n) } },
      data: { release: 'H4sI' },
    });
  }
  const sel = await kubectl(['--context', 'cluster-b', 'get', 'secret', '-n', 'kube-system', '-l', 'owner=helm,name=cilium,status=deployed', '-o', 'json']);
  t.is(sel.code, 0, sel.stderr);
  const list = JSON.parse(sel.stdout);
  t.is(list.kind, 'List');
  t.deepEqual(list.items.map((/** @type {any} */ i) => i.metadata.name), ['sh.helm.release.v1.cilium.v2']);
  const setBased = await kubectl(['--context', 'cluster-b', 'get', 'secret', '-n', 'kube-system', '-l', 'owner=helm,status in (deployed,superseded),!missing', '-o', 'name']);
  t.deepEqual(setBased.stdout.trim().split('\n'), ['secret/sh.helm.release.v1.cilium.v1', 'secret/sh.helm.release.v1.cilium.v2']);
  const none = await kubectl(['--context', 'cluster-b', 'get', 'secret', '-n', 'kube-system', '-l', 'owner=helm,status notin (deployed,superseded)']);
  t.is(none.code, 0);
  t.is(none.stderr.trim(), 'No resources found in kube-system namespace.');
});

test('create into a namespace that does not exist, and invalid names', async (t) => {
  const { kubectl } = await twinForTest(t);
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'nope' }, data: { a: '1' } };
  const r = await kubectl(['create', '-f', '-'], { input: JSON.stringify(cm) });
  t.is(r.code, 1);
  t.is(r.stderr.trim(), 'Error from server (NotFound): error when creating "STDIN": namespaces "nope" not found');
  const bad = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Echo_1' } }) });
  t.is(bad.code, 1);
  t.regex(bad.stderr, /The Namespace "Echo_1" is invalid: metadata.name: Invalid value: "Echo_1": a lowercase RFC 1123 label must consist of/);
});

test('get of several objects with --ignore-not-found, -o name, -o yaml, -o jsonpath', async (t) => {
  const { kubectl } = await twinForTest(t);
  const r = await kubectl(['get', '-n', 'kube-system', 'deploy/coredns', 'svc/cilium-missing', '-o', 'json', '--ignore-not-found']);
  t.is(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  t.deepEqual(list.items.map((/** @type {any} */ i) => `${i.kind}/${i.metadata.name}`), ['Deployment/coredns']);
  const missing = await kubectl(['get', '-n', 'kube-system', 'deploy/coredns', 'svc/cilium-missing', '-o', 'name']);
  t.is(missing.code, 1);
  t.is(missing.stdout.trim(), 'deployment.apps/coredns');
  t.is(missing.stderr.trim(), 'Error from server (NotFound): services "cilium-missing" not found');
  const y = await kubectl(['get', 'svc', 'kube-dns', '-n', 'kube-system', '-o', 'yaml']);
  const svc = YAML.parse(y.stdout);
  t.is(svc.spec.clusterIP, '10.96.0.10');
  t.is(svc.metadata.generation, undefined);
  const jp = await kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}']);
  t.is(jp.stdout, 'k3s-a-agent-1=127.0.10.2\nk3s-a-agent-2=127.0.10.3\nk3s-a-server=127.0.10.1\n');
  const names = await kubectl(['get', 'ns', '-o', 'name']);
  t.deepEqual(names.stdout.trim().split('\n'), ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
});

test('table output: pods -A, nodes like K3s, services', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  a.store.create('/pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'coredns-5d8f7c9b4-x2x9z', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
    spec: { nodeName: 'k3s-a-server', containers: [{ name: 'coredns', image: 'rancher/mirrored-coredns-coredns:1.12.3' }] },
    status: { phase: 'Running', podIP: '10.42.0.4', containerStatuses: [{ name: 'coredns', ready: true, restartCount: 1, state: { running: {} } }] },
  });
  a.store.create('/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' },
    spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] },
    status: { phase: 'Pending', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
  });
  const pods = await kubectl(['get', 'pods', '-A']);
  t.is(pods.code, 0, pods.stderr);
  const lines = pods.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
  t.deepEqual(lines[0], ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  t.deepEqual(lines[1].slice(0, 5), ['default', 'web', '0/2', 'ContainerCreating', '0']);
  t.deepEqual(lines[2].slice(0, 5), ['kube-system', 'coredns-5d8f7c9b4-x2x9z', '1/1', 'Running', '1']);
  t.regex(lines[2][5], /^\d+s$/);
  const nodes = await kubectl(['get', 'nodes']);
  const nl = nodes.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
  t.deepEqual(nl[0], ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
  t.deepEqual([nl[3][0], nl[3][1], nl[3][2], nl[3][4]], ['k3s-a-server', 'Ready', 'control-plane,master', 'v1.33.5+k3s1']);
  t.deepEqual([nl[1][0], nl[1][2]], ['k3s-a-agent-1', '<none>']);
  const svcs = await kubectl(['get', 'svc', '-A']);
  const sl = svcs.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
  t.deepEqual(sl[0], ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']);
  t.deepEqual(sl[1].slice(0, 6), ['default', 'kubernetes', 'ClusterIP', '10.96.0.1', '<none>', '443/TCP']);
  const dep = await kubectl(['get', 'deploy', '-n', 'kube-system', 'coredns']);
  t.deepEqual(dep.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/).slice(0, 4)), [['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE'], ['coredns', '1/1', '1', '1']]);
});

test('a client without a certificate gets 401 Unauthorized', async (t) => {
  const { a } = await twinForTest(t);
  const r = await apiRequest(a, 'GET', '/api/v1/namespaces', { cert: false });
  t.is(r.status, 401);
  t.like(r.json, { kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401, message: 'Unauthorized' });
});

test('the two clusters are separate: own stores, own CAs, merged kubeconfig with renamed entries', async (t) => {
  const { kubectl, twin } = await twinForTest(t);
  const view = await kubectl(['config', 'view', '-o', 'json']);
  const cfg = JSON.parse(view.stdout);
  t.is(cfg['current-context'], 'cluster-a');
  t.deepEqual(cfg.contexts.map((/** @type {any} */ c) => [c.name, c.context.cluster, c.context.user]), [['cluster-a', 'cluster-a', 'cluster-a'], ['cluster-b', 'cluster-b', 'cluster-b']]);
  const fs = await import('node:fs/promises');
  const k3s = YAML.parse(await fs.readFile(twin.clusters.b.k3sKubeconfig, 'utf8'));
  t.is(k3s.contexts[0].name, 'default');
  t.is(k3s.clusters[0].cluster.server, twin.clusters.b.server.url);
  t.is(((await fs.stat(twin.kubeconfig)).mode & 0o777), 0o600);
  twin.clusters.b.store.create('/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'only-b', namespace: 'default' } });
  t.is((await kubectl(['get', 'cm', 'only-b'])).code, 1);
  t.is((await kubectl(['--context', 'cluster-b', 'get', 'cm', 'only-b', '-o', 'name'])).stdout.trim(), 'configmap/only-b');
  const nodes = await kubectl(['--context', 'cluster-b', 'get', 'nodes', '-o', 'name']);
  t.deepEqual(nodes.stdout.trim().split('\n'), ['node/k3s-b-agent-1', 'node/k3s-b-agent-2', 'node/k3s-b-server']);
});
