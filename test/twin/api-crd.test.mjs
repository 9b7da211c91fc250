// @ts-check
// Custom resources: served only while their CRD is Established, in every served
// version, applied with merge patches, validated and pruned by the CRD's schema.
import test from 'ava';
import { twinForTest, poolCrd, establishCrd, later, apiRequest, waitFor } from '../support/twin-harness.mjs';
import { scaledSeconds } from '../support/time.mjs';

const CRDS = 'apiextensions.k8s.io/customresourcedefinitions';
const CRD_NAME = 'ciliumloadbalancerippools.cilium.io';

/** @param {string} name @param {string} start @param {string} [apiVersion] */
const pool = (name, start, apiVersion = 'cilium.io/v2') => ({
  apiVersion, kind: 'CiliumLoadBalancerIPPool',
  metadata: { name },
  spec: { blocks: [{ start, stop: start }], serviceSelector: { matchLabels: { 'app.kubernetes.io/name': 'clustermesh-apiserver' } } },
});

test('get crd, wait --for=condition=Established (established later), then the resource is served', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  a.store.create(CRDS, poolCrd());
  const get = await kubectl(['get', 'crd', CRD_NAME]);
  t.is(get.code, 0, get.stderr);
  t.deepEqual(get.stdout.trim().split('\n')[0].split(/\s{2,}/), ['NAME', 'CREATED AT']);
  t.regex(get.stdout, /ciliumloadbalancerippools\.cilium\.io\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);

  const early = await kubectl(['get', 'ciliumloadbalancerippools']);
  t.is(early.code, 1);
  t.regex(early.stderr, /the server doesn't have a resource type "ciliumloadbalancerippools"/);

  // Established only once kubectl watches: the wait must end through the watch, not an early read.
  a.server.clearRequests();
  const established = waitFor(() => a.server.inFlight().some((q) => q.query.includes('watch=true')), { timeoutMs: 20_000, what: "kubectl's watch" })
    .then(() => establishCrd(a, CRD_NAME));
  const wait = await kubectl(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, `--timeout=${scaledSeconds(30)}`]);
  await established;
  t.is(wait.code, 0, wait.stderr);
  t.is(wait.stdout.trim(), `customresourcedefinition.apiextensions.k8s.io/${CRD_NAME} condition met`);

  const none = await kubectl(['get', 'ippools']);
  t.is(none.code, 0, none.stderr);
  t.is(none.stderr.trim(), 'No resources found');
});

test('wait times out with kubectl\'s message when the CRD never becomes Established', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  a.store.create(CRDS, poolCrd());
  const wait = await kubectl(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=1s']);
  t.is(wait.code, 1);
  t.is(wait.stderr.trim(), `error: timed out waiting for the condition on customresourcedefinitions/${CRD_NAME}`);
});

test('apply of a custom resource: created, unchanged, merge-patched; both versions; printer columns; defaults', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  a.store.create(CRDS, poolCrd());
  establishCrd(a, CRD_NAME);
  const first = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(pool('mesh-a', '127.0.254.220')) });
  t.is(first.code, 0, first.stderr);
  t.is(first.stdout.trim(), 'ciliumloadbalancerippool.cilium.io/mesh-a created');
  const stored = a.store.get('cilium.io/ciliumloadbalancerippools', '', 'mesh-a');
  t.is(stored?.apiVersion, 'cilium.io/v2');
  t.like(stored?.spec, { allowFirstLastIPs: 'No', disabled: false });

  a.server.resetStats();
  const same = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(pool('mesh-a', '127.0.254.220')) });
  t.is(same.stdout.trim(), 'ciliumloadbalancerippool.cilium.io/mesh-a unchanged');
  t.is(a.server.stats().writes, 0);

  a.server.clearRequests();
  const changed = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(pool('mesh-a', '127.0.254.221', 'cilium.io/v2alpha1')) });
  t.is(changed.code, 0, changed.stderr);
  t.is(changed.stdout.trim(), 'ciliumloadbalancerippool.cilium.io/mesh-a configured');
  const patch = a.server.requests().find((r) => r.method === 'PATCH');
  t.is(patch?.contentType, 'application/merge-patch+json');
  t.is(patch?.path, '/apis/cilium.io/v2alpha1/ciliumloadbalancerippools/mesh-a');
  t.deepEqual(a.store.get('cilium.io/ciliumloadbalancerippools', '', 'mesh-a')?.spec.blocks, [{ start: '127.0.254.221', stop: '127.0.254.221' }]);

  const v1 = JSON.parse((await kubectl(['get', 'ciliumloadbalancerippools.v2alpha1.cilium.io', 'mesh-a', '-o', 'json'])).stdout);
  t.is(v1.apiVersion, 'cilium.io/v2alpha1');
  const v2 = JSON.parse((await kubectl(['get', 'ippool', 'mesh-a', '-o', 'json'])).stdout);
  t.is(v2.apiVersion, 'cilium.io/v2');
  t.is(v2.metadata.generation, 2);

  const table = await kubectl(['get', 'ippools']);
  const rows = table.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
  t.deepEqual(rows[0], ['NAME', 'DISABLED', 'CONFLICTING', 'AGE']);
  t.deepEqual(rows[1].slice(0, 2), ['mesh-a', 'false']);

  const smp = await apiRequest(a, 'PATCH', '/apis/cilium.io/v2/ciliumloadbalancerippools/mesh-a', { body: { spec: { disabled: true } }, contentType: 'application/strategic-merge-patch+json' });
  t.is(smp.status, 415, 'custom resources take no strategic merge patch');
});

test('strict validation of custom resources by the CRD schema; types and enums are checked', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  a.store.create(CRDS, poolCrd());
  establishCrd(a, CRD_NAME);
  const bad = { apiVersion: 'cilium.io/v2alpha1', kind: 'CiliumLoadBalancerIPPool', metadata: { name: 'bad' }, spec: { cidrs: [{ cidr: '127.0.254.0/24' }] } };
  const r = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(bad) });
  t.is(r.code, 1);
  t.is(r.stderr.trim(), 'Error from server (BadRequest): error when creating "STDIN": CiliumLoadBalancerIPPool in version "v2alpha1" cannot be handled as a CiliumLoadBalancerIPPool: strict decoding error: unknown field "spec.cidrs"');
  const nested = pool('nested', '127.0.0.9');
  /** @type {any} */ (nested.spec.blocks[0]).size = 3;
  const n = await kubectl(['create', '-f', '-'], { input: JSON.stringify(nested) });
  t.regex(n.stderr, /strict decoding error: unknown field "spec.blocks\[0\].size"/);
  const wrongType = { ...pool('typed', '127.0.0.9'), spec: { blocks: 'x', allowFirstLastIPs: 'Maybe' } };
  const w = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(wrongType) });
  t.is(w.code, 1);
  t.is(w.stderr.trim(), [
    'The CiliumLoadBalancerIPPool "typed" is invalid: ',
    '* spec.allowFirstLastIPs: Unsupported value: "Maybe": supported values: "Yes", "No"',
    '* spec.blocks: Invalid value: "string": spec.blocks in body must be of type array: "string"',
  ].join('\n'));
});

test('a CRD created through the API is Established by the server; deleting it removes its resources', async (t) => {
  const { kubectl, a } = await twinForTest(t, { delays: { crdEstablishMs: 100 } });
  const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(poolCrd()) });
  t.is(applied.code, 0, applied.stderr);
  t.is(applied.stdout.trim(), `customresourcedefinition.apiextensions.k8s.io/${CRD_NAME} created`);
  const wait = await kubectl(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, `--timeout=${scaledSeconds(10)}`]);
  t.is(wait.code, 0, wait.stderr);
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(pool('p', '127.0.0.7')) })).code, 0);
  const del = await kubectl(['delete', 'crd', CRD_NAME]);
  t.is(del.code, 0, del.stderr);
  t.deepEqual(a.store.list('cilium.io/ciliumloadbalancerippools'), []);
  const after = await kubectl(['get', 'ippools']);
  t.is(after.code, 1);
});
