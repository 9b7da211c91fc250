// @ts-check
// Writing through the twin's API server with the real kubectl: client-side
// apply (create, no-op, strategic merge patch), strict validation, annotate,
// scale, server-side apply, replace conflicts, dry runs and namespace deletion.
import test from 'ava';
import { twinForTest, apiRequest } from '../support/twin-harness.mjs';
import { scaled } from '../support/time.mjs';

/** @param {string} image */
const echoApp = (image = 'ealen/echo-server:0.9.2') => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'echo' } },
  {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'echo', namespace: 'echo', labels: { app: 'echo' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'echo' } },
      template: {
        metadata: { labels: { app: 'echo' } },
        spec: {
          containers: [
            { name: 'echo', image, ports: [{ containerPort: 80 }], env: [{ name: 'PORT', value: '80' }] },
            { name: 'sidecar', image: 'busybox:1.36', command: ['sleep', 'infinity'] },
          ],
        },
      },
    },
  },
  {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'echo', namespace: 'echo', annotations: { 'service.cilium.io/global': 'true' } },
    spec: { type: 'LoadBalancer', selector: { app: 'echo' }, ports: [{ name: 'http', port: 80, targetPort: 80 }] },
  },
];

/** @param {object[]} items */
const list = (items) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

test('apply creates, a second apply sends no write, a changed image is a strategic merge patch', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  const first = await kubectl(['apply', '-f', '-'], { input: list(echoApp()) });
  t.is(first.code, 0, first.stderr);
  t.deepEqual(first.stdout.trim().split('\n'), ['namespace/echo created', 'deployment.apps/echo created', 'service/echo created']);

  const d = a.store.get('apps/deployments', 'echo', 'echo');
  t.like(d?.spec, {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    revisionHistoryLimit: 10, progressDeadlineSeconds: 600,
  });
  t.like(d?.spec.template.spec, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
  t.like(d?.spec.template.spec.containers[0], { imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
  t.is(d?.metadata.generation, 1);
  const svc = a.store.get('/services', 'echo', 'echo');
  // Cluster A's service CIDR is 10.96.0.0/12 (README, K3s prerequisites).
  t.regex(svc?.spec.clusterIP, /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
  t.deepEqual(svc?.spec.clusterIPs, [svc?.spec.clusterIP]);
  t.like(svc?.spec, { ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true });
  t.like(svc?.spec.ports[0], { protocol: 'TCP', port: 80, targetPort: 80 });
  t.true(svc?.spec.ports[0].nodePort >= 30000 && svc?.spec.ports[0].nodePort <= 32767);
  const ns = a.store.get('/namespaces', '', 'echo');
  t.is(ns?.status?.phase, 'Active');
  t.is(ns?.metadata.labels?.['kubernetes.io/metadata.name'], 'echo');

  a.server.resetStats();
  const again = await kubectl(['apply', '-f', '-'], { input: list(echoApp()) });
  t.is(again.code, 0, again.stderr);
  t.deepEqual(again.stdout.trim().split('\n'), ['namespace/echo unchanged', 'deployment.apps/echo unchanged', 'service/echo unchanged']);
  t.is(a.server.stats().writes, 0);
  t.true(a.server.stats().reads > 0);

  a.server.resetStats();
  a.server.clearRequests();
  const changed = await kubectl(['apply', '-f', '-'], { input: list(echoApp('ealen/echo-server:0.9.3')) });
  t.is(changed.code, 0, changed.stderr);
  t.deepEqual(changed.stdout.trim().split('\n'), ['namespace/echo unchanged', 'deployment.apps/echo configured', 'service/echo unchanged']);
  t.is(a.server.stats().writes, 1);
  const patch = a.server.requests().find((r) => r.method === 'PATCH');
  t.is(patch?.path, '/apis/apps/v1/namespaces/echo/deployments/echo');
  t.is(patch?.contentType, 'application/strategic-merge-patch+json');
  const after = a.store.get('apps/deployments', 'echo', 'echo');
  t.deepEqual(after?.spec.template.spec.containers.map((/** @type {any} */ c) => [c.name, c.image]), [['echo', 'ealen/echo-server:0.9.3'], ['sidecar', 'busybox:1.36']]);
  t.deepEqual(after?.spec.template.spec.containers[0].env, [{ name: 'PORT', value: '80' }]);
  t.is(after?.metadata.generation, 2);
  t.is(a.store.get('/services', 'echo', 'echo')?.spec.clusterIP, svc?.spec.clusterIP);
});

test('strict field validation rejects unknown fields with the real message; invalid objects get 422', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  await kubectl(['apply', '-f', '-'], { input: list(echoApp().slice(0, 1)) });
  const [, deploy] = echoApp();
  const bad = structuredClone(/** @type {any} */ (deploy));
  bad.spec.foo = 1;
  bad.spec.template.spec.containers[0].bar = true;
  const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(bad) });
  t.is(r.code, 1);
  t.is(r.stderr.trim(), 'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo", unknown field "spec.template.spec.containers[0].bar"');
  t.is(a.store.get('apps/deployments', 'echo', 'echo'), undefined);

  // --validate=false: the server drops unknown fields quietly (Ignore).
  const ignored = await kubectl(['apply', '--validate=false', '-f', '-'], { input: JSON.stringify(bad) });
  t.is(ignored.code, 0, ignored.stderr);
  t.is(a.store.get('apps/deployments', 'echo', 'echo')?.spec.foo, undefined);

  const mismatch = structuredClone(/** @type {any} */ (deploy));
  mismatch.metadata.name = 'other';
  mismatch.spec.template.metadata.labels = { app: 'other' };
  const inv = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(mismatch) });
  t.is(inv.code, 1);
  t.is(inv.stderr.trim(), 'The Deployment "other" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`');

  const noPorts = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x', namespace: 'echo' }, spec: { selector: { app: 'x' } } };
  const sv = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(noPorts) });
  t.is(sv.code, 1);
  t.is(sv.stderr.trim(), 'The Service "x" is invalid: spec.ports: Required value');
});

test('annotate, label and scale: merge patches on the object and the scale subresource', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  await kubectl(['apply', '-f', '-'], { input: list(echoApp()) });
  a.server.clearRequests();
  const ann = await kubectl(['annotate', 'deployment/echo', '-n', 'echo', 'k=v', '--overwrite']);
  t.is(ann.code, 0, ann.stderr);
  t.is(ann.stdout.trim(), 'deployment.apps/echo annotated');
  const lbl = await kubectl(['label', 'svc/echo', '-n', 'echo', 'tier=web']);
  t.is(lbl.stdout.trim(), 'service/echo labeled');
  const sc = await kubectl(['scale', 'deployment/echo', '--replicas=0', '-n', 'echo']);
  t.is(sc.code, 0, sc.stderr);
  t.is(sc.stdout.trim(), 'deployment.apps/echo scaled');
  const patches = a.server.requests().filter((r) => r.method === 'PATCH');
  t.deepEqual(patches.map((p) => [p.path, p.contentType]), [
    ['/apis/apps/v1/namespaces/echo/deployments/echo', 'application/merge-patch+json'],
    ['/api/v1/namespaces/echo/services/echo', 'application/merge-patch+json'],
    ['/apis/apps/v1/namespaces/echo/deployments/echo/scale', 'application/merge-patch+json'],
  ]);
  const d = a.store.get('apps/deployments', 'echo', 'echo');
  t.is(d?.metadata.annotations?.k, 'v');
  t.is(d?.spec.replicas, 0);
  t.is(d?.metadata.generation, 2, 'annotations do not bump generation, replicas do');
  t.is(a.store.get('/services', 'echo', 'echo')?.metadata.labels?.tier, 'web');
  const same = await kubectl(['annotate', 'deployment/echo', '-n', 'echo', 'k=v', '--overwrite']);
  t.is(same.code, 0);
  t.is(a.store.get('apps/deployments', 'echo', 'echo')?.metadata.resourceVersion, d?.metadata.resourceVersion, 'a no-op patch changes nothing');
  const noOverwrite = await kubectl(['annotate', 'deployment/echo', '-n', 'echo', 'k=w']);
  t.is(noOverwrite.code, 1);
  t.regex(noOverwrite.stderr, /--overwrite is false but found the following declared annotation\(s\): 'k' already has a value \(v\)/);
  const scale = await apiRequest(a, 'GET', '/apis/apps/v1/namespaces/echo/deployments/echo/scale');
  t.like(scale.json, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 0 }, status: { selector: 'app=echo' } });
});

test('server-side apply creates, then merges; dry runs store nothing', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default', labels: { a: '1' } }, data: { x: '1' } };
  a.server.clearRequests();
  const first = await kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(cm) });
  t.is(first.code, 0, first.stderr);
  t.is(first.stdout.trim(), 'configmap/cfg serverside-applied');
  const p = a.server.requests().find((r) => r.method === 'PATCH');
  t.is(p?.contentType, 'application/apply-patch+yaml');
  t.regex(p?.query ?? '', /fieldManager=kubectl/);
  t.is(p?.status, 201);
  const second = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: JSON.stringify({ ...cm, data: { x: '2', y: '3' } }) });
  t.is(second.code, 0, second.stderr);
  t.deepEqual(a.store.get('/configmaps', 'default', 'cfg')?.data, { x: '2', y: '3' });

  a.server.resetStats();
  const dry = await kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], { input: JSON.stringify({ ...cm, metadata: { name: 'dry', namespace: 'default' } }) });
  t.is(dry.code, 0, dry.stderr);
  t.is(dry.stdout.trim(), 'configmap/dry');
  t.is(a.store.get('/configmaps', 'default', 'dry'), undefined);
  t.like(a.server.stats(), { writes: 0, dryRuns: 1 });
  const dryApply = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: list(echoApp()) });
  t.is(dryApply.code, 1, 'the namespace does not exist yet, as on a real server');
  t.regex(dryApply.stderr, /namespaces "echo" not found/);
});

test('replace with a stale resourceVersion is a Conflict; delete ns removes its objects', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  await kubectl(['apply', '-f', '-'], { input: list(echoApp()) });
  const got = JSON.parse((await kubectl(['get', 'deploy', 'echo', '-n', 'echo', '-o', 'json'])).stdout);
  await kubectl(['annotate', 'deploy/echo', '-n', 'echo', 'x=1']);
  got.spec.replicas = 5;
  const r = await kubectl(['replace', '-f', '-'], { input: JSON.stringify(got) });
  t.is(r.code, 1);
  t.is(r.stderr.trim(), 'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on deployments.apps "echo": the object has been modified; please apply your changes to the latest version and try again');
  const del = await kubectl(['delete', 'ns', 'echo']);
  t.is(del.code, 0, del.stderr);
  t.is(del.stdout.trim(), 'namespace "echo" deleted');
  t.deepEqual(a.store.list('apps/deployments', 'echo'), []);
  t.deepEqual(a.store.list('/services', 'echo'), []);
  const gone = await kubectl(['get', 'ns', 'echo']);
  t.is(gone.stderr.trim(), 'Error from server (NotFound): namespaces "echo" not found');
  const sys = await kubectl(['delete', 'ns', 'kube-system']);
  t.is(sys.code, 1);
  t.is(sys.stderr.trim(), 'Error from server (Forbidden): namespaces "kube-system" is forbidden: this namespace may not be deleted');
  const again = await kubectl(['delete', 'ns', 'echo', '--ignore-not-found']);
  t.is(again.code, 0);
});

test('delete -f of a namespace and its objects: the namespace terminates after its content, like the namespace controller', async (t) => {
  // kubectl deletes the namespace first, then its objects: they must still be there when its requests
  // come (the twin's 100 ms before the purge was too short for kubectl on a loaded machine).
  const { kubectl, a } = await twinForTest(t, { delays: { namespaceDeleteMs: scaled(1000) } });
  await kubectl(['apply', '-f', '-'], { input: list(echoApp()) });
  const del = await kubectl(['delete', '-f', '-'], { input: list(echoApp()) });
  t.is(del.code, 0, del.stderr);
  t.deepEqual(del.stdout.trim().split('\n'), ['namespace "echo" deleted', 'deployment.apps "echo" deleted', 'service "echo" deleted']);
  t.is(a.store.get('/namespaces', '', 'echo'), undefined);

  // A namespace stuck in Terminating takes no new content.
  const ns = a.store.create('/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'stuck' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Terminating' } });
  a.store.update('/namespaces', { ...ns, metadata: { ...ns.metadata, deletionTimestamp: new Date().toISOString() } });
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'stuck' } };
  const r = await kubectl(['create', '-f', '-'], { input: JSON.stringify(cm) });
  t.is(r.code, 1);
  t.is(r.stderr.trim(), 'Error from server (Forbidden): error when creating "STDIN": configmaps "late" is forbidden: unable to create new content in namespace stuck because it is being terminated');
  const twice = await kubectl(['delete', 'ns', 'stuck', '--wait=false']);
  t.is(twice.code, 1);
  t.regex(twice.stderr, /Operation cannot be fulfilled on namespaces "stuck": The system is ensuring all content is removed from this namespace/);
});

test('kubectl create of typed generators sends protobuf, which the twin reads like a real server; the dry-run pipe works too', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  const direct = await kubectl(['create', 'ns', 'direct']);
  t.is(direct.code, 0, direct.stderr);
  t.truthy(a.store.get('/namespaces', '', 'direct'));
  const secret = await kubectl(['create', 'secret', 'generic', 'token', '-n', 'direct', '--from-literal=k=v']);
  t.is(secret.code, 0, secret.stderr);
  t.is(Buffer.from(a.store.get('/secrets', 'direct', 'token')?.data?.k ?? '', 'base64').toString(), 'v');
  const yaml = await kubectl(['create', 'ns', 'piped', '--dry-run=client', '-o', 'yaml']);
  const applied = await kubectl(['apply', '-f', '-'], { input: yaml.stdout });
  t.is(applied.code, 0, applied.stderr);
  t.truthy(a.store.get('/namespaces', '', 'piped'));
  // A kind whose protobuf form the twin does not read is refused by name.
  const deploy = await kubectl(['create', 'deployment', 'web', '--image=nginx', '-n', 'direct']);
  t.is(deploy.code, 1);
  t.regex(deploy.stderr, /unknown format.*apps\/v1\/Deployment/);
});

test('decoding errors of common YAML slips: an unquoted bool annotation, bad base64, oversized annotations', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  const svc = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'echo', namespace: 'default', annotations: { 'service.cilium.io/global': true } },
    spec: { selector: { app: 'echo' }, ports: [{ port: 80 }] },
  };
  const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(svc) });
  t.is(r.code, 1);
  // kubectl decodes the object itself first; another client reaches the server, which says the same.
  t.is(r.stderr.trim(), 'error: unable to decode "STDIN": json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.annotations of type string');
  const raw = await apiRequest(a, 'POST', '/api/v1/namespaces/default/services', { body: svc });
  t.is(raw.status, 400);
  t.is(raw.json.message, 'Service in version "v1" cannot be handled as a Service: json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.annotations of type string');
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { key: 'not base64!' } };
  const s = await kubectl(['create', '-f', '-'], { input: JSON.stringify(secret) });
  t.is(s.code, 1);
  t.regex(s.stderr, /Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3/);
  const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'default' }, data: { x: 'y'.repeat(300_000) } };
  const b = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(big) });
  t.is(b.code, 1, 'the last-applied annotation would exceed 256 KiB');
  t.regex(b.stderr, /metadata.annotations: Too long: must have at most 262144 bytes/);
  t.is((await kubectl(['create', '-f', '-'], { input: JSON.stringify(big) })).code, 0, 'create sets no last-applied annotation');
});
