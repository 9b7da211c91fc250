// @ts-check
// The comparisons that decide "already done": a manifest against the live
// object (apply.mjs), wanted Helm values against a stored release (probes.mjs),
// and the CA Secret as it travels from A to B (share-ca.mjs).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { subsetDiff, applyDiff, deepEqual } from '../../scripts/lib/apply.mjs';
import { valueDiff, decodeHelmRelease } from '../../scripts/lib/probes.mjs';
import { dropServerFields, DROP_SERVER_FIELDS } from '../../scripts/lib/share-ca.mjs';
import { parseManifests } from '../../scripts/lib/render.mjs';
import { ciliumValues } from '../../scripts/lib/manifests.mjs';
import { meshPool } from '../../scripts/04-mesh-pools.mjs';
import { echoApp } from '../../scripts/08-deploy-echo.mjs';
import { articleConfig, makeConfig } from '../support/config-fixture.mjs';

const config = articleConfig();
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** @template T @param {T} o @returns {T} */
const clone = (o) => JSON.parse(JSON.stringify(o));

/** The echo objects as this runbook applies them. */
const [NS, DEPLOY, SVC] = echoApp(config, config.a).objects;

/**
 * What `kubectl get -o json` returns after `kubectl apply` of `wanted`: the
 * object with the last-applied annotation and the fields the API server adds.
 * @param {any} wanted
 */
function liveAfterApply(wanted) {
  const live = clone(wanted);
  live.metadata = {
    ...live.metadata,
    uid: '7d0e2b44-0000-4000-8000-000000000001',
    resourceVersion: '48213',
    generation: 2,
    creationTimestamp: '2025-05-01T10:00:00Z',
    managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
    annotations: { ...(wanted.metadata.annotations ?? {}), [LAST_APPLIED]: JSON.stringify(wanted) + '\n' },
  };
  if (wanted.kind === 'Deployment') {
    live.metadata.annotations['deployment.kubernetes.io/revision'] = '1';
    Object.assign(live.spec, { progressDeadlineSeconds: 600, revisionHistoryLimit: 10, strategy: { type: 'RollingUpdate' } });
    const pod = live.spec.template.spec;
    Object.assign(pod, { dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', terminationGracePeriodSeconds: 30, securityContext: {} });
    pod.containers = pod.containers.map((/** @type {any} */ c) => ({
      ...c, resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
      ports: c.ports.map((/** @type {any} */ p) => ({ ...p, protocol: 'TCP' })),
    }));
    live.status = { observedGeneration: 2, replicas: 1, readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1 };
  }
  if (wanted.kind === 'Service') {
    Object.assign(live.spec, {
      clusterIP: '10.96.14.7', clusterIPs: ['10.96.14.7'], externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', sessionAffinity: 'None', allocateLoadBalancerNodePorts: true,
    });
    live.spec.ports = live.spec.ports.map((/** @type {any} */ p) => ({ ...p, protocol: 'TCP', nodePort: 31234 }));
    live.status = { loadBalancer: { ingress: [{ ip: '192.168.254.230', ipMode: 'VIP' }] } };
  }
  if (wanted.kind === 'Namespace') {
    live.metadata.labels = { 'kubernetes.io/metadata.name': wanted.metadata.name };
    live.spec = { finalizers: ['kubernetes'] };
    live.status = { phase: 'Active' };
  }
  return live;
}

test('subsetDiff: fields the server added do not count; every field we set is compared', (t) => {
  const wanted = { spec: { replicas: 1, ports: [{ port: 80 }] } };
  t.deepEqual(subsetDiff(wanted, { spec: { replicas: 1, extra: true, ports: [{ port: 80, protocol: 'TCP' }] }, status: {} }), []);
  t.deepEqual(subsetDiff(wanted, { spec: { replicas: 2, ports: [{ port: 80 }] } }), ['spec.replicas differs']);
  t.deepEqual(subsetDiff(wanted, { spec: { replicas: 1, ports: [{ port: 81 }] } }), ['spec.ports[0].port differs']);
  t.deepEqual(subsetDiff(wanted, { spec: { replicas: 1, ports: [{ port: 80 }, { port: 443 }] } }), ['spec.ports differs'],
    'a list of another length differs as a whole');
  t.deepEqual(subsetDiff(wanted, {}), ['spec.replicas differs', 'spec.ports differs']);
  t.deepEqual(subsetDiff({ a: undefined, b: 1 }, { b: 1 }), [], 'undefined fields are not set, so not compared');
});

test('subsetDiff: a number and its string form are the same (int-or-string fields like targetPort)', (t) => {
  t.deepEqual(subsetDiff({ targetPort: 80 }, { targetPort: '80' }), []);
  t.deepEqual(subsetDiff({ x: true }, { x: 'true' }), []);
  t.deepEqual(subsetDiff({ x: 'v' }, {}), ['x differs'], 'a missing field is never equal, not even to "undefined"');
  t.deepEqual(subsetDiff({ x: 'undefined' }, {}), ['x differs']);
});

test('deepEqual: structure and values, not key order', (t) => {
  t.true(deepEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }));
  t.false(deepEqual({ a: 1 }, { a: 1, b: 2 }));
  t.false(deepEqual({ a: 1, b: 2 }, { a: 1 }));
  t.false(deepEqual([1, 2], [2, 1]));
  t.false(deepEqual({ 0: 'a' }, ['a']), 'an object is not a list');
  t.false(deepEqual({ a: null }, { a: {} }));
  t.false(deepEqual({ a: 1 }, { a: '1' }), 'types count here: last-applied is JSON of what was applied');
  t.true(deepEqual(null, null));
});

test('applyDiff: objects just applied, with every server-added field, are in place', (t) => {
  for (const o of [NS, DEPLOY, SVC, ...meshPool(config.a).objects]) {
    t.deepEqual(applyDiff(o, liveAfterApply(o)), [], `${o.kind}`);
  }
});

test('applyDiff: a missing object is reported by kind and name', (t) => {
  t.deepEqual(applyDiff(DEPLOY, undefined), ['Deployment/echo is missing']);
});

test('applyDiff: a changed image differs', (t) => {
  const live = liveAfterApply(DEPLOY);
  live.spec.template.spec.containers[0].image = 'mcbtaguiad/web-echo:cluster-b';
  t.deepEqual(applyDiff(DEPLOY, live), ['Deployment/echo: spec.template.spec.containers[0].image differs']);
});

test('applyDiff: the image this runbook wants now, against an object applied with another one', (t) => {
  const before = makeConfig({ CLUSTER_A_ECHO_IMAGE: 'mcbtaguiad/web-echo:v1' });
  const old = echoApp(before, before.a).objects[1];
  t.is(old.spec.template.spec.containers[0].image, 'mcbtaguiad/web-echo:v1');
  const diffs = applyDiff(DEPLOY, liveAfterApply(old));
  t.deepEqual(diffs, ['Deployment/echo: spec.template.spec.containers[0].image differs']);
});

test('applyDiff: a scaled Deployment (replicas changed by hand) differs', (t) => {
  const live = liveAfterApply(DEPLOY);
  live.spec.replicas = 0;
  t.deepEqual(applyDiff(DEPLOY, live), ['Deployment/echo: spec.replicas differs']);
});

test('applyDiff: an annotation we set that was removed on the live object differs', (t) => {
  const live = liveAfterApply(SVC);
  delete live.metadata.annotations['service.cilium.io/global'];
  t.deepEqual(applyDiff(SVC, live), ['Service/echo: metadata.annotations.service.cilium.io/global differs']);
});

test('applyDiff: an annotation applied before and no longer wanted (affinity unset) differs', (t) => {
  const noAffinity = makeConfig({ ECHO_AFFINITY: '' });
  const wanted = echoApp(noAffinity, noAffinity.a).objects[2];
  t.false('service.cilium.io/affinity' in wanted.metadata.annotations);
  const live = liveAfterApply(SVC); // applied earlier with affinity: local
  t.is(live.metadata.annotations['service.cilium.io/affinity'], 'local');
  t.deepEqual(applyDiff(wanted, live), ['Service/echo: fields applied before are no longer wanted']);
});

test('applyDiff: annotations someone else added (not in last-applied) do not count', (t) => {
  const live = liveAfterApply(DEPLOY);
  live.metadata.annotations['clustermesh-runbook.io/failover-drill'] = 'passed';
  live.metadata.labels.team = 'x';
  t.deepEqual(applyDiff(DEPLOY, live), []);
});

test('applyDiff: an object created without apply (no last-applied) is judged by its fields alone', (t) => {
  const live = liveAfterApply(SVC);
  delete live.metadata.annotations[LAST_APPLIED];
  t.deepEqual(applyDiff(SVC, live), []);
  live.metadata.annotations[LAST_APPLIED] = '{not json';
  t.deepEqual(applyDiff(SVC, live), [], 'an unreadable annotation is ignored');
});

test('applyDiff: apiVersion cilium.io/v2 wanted, v2alpha1 served, is the same object', (t) => {
  const [pool, policy] = meshPool(config.a).objects;
  t.is(pool.apiVersion, 'cilium.io/v2');
  const livePool = liveAfterApply(pool);
  livePool.apiVersion = 'cilium.io/v2alpha1';
  t.deepEqual(applyDiff(pool, livePool), []);
  const livePolicy = liveAfterApply(policy);
  livePolicy.apiVersion = 'cilium.io/v2';
  t.deepEqual(applyDiff(policy, livePolicy), []);
});

test('applyDiff: a pool with another block differs', (t) => {
  const [pool] = meshPool(config.a).objects;
  const live = liveAfterApply(pool);
  live.spec.blocks = [{ start: '192.168.254.221', stop: '192.168.254.221' }];
  t.deepEqual(applyDiff(pool, live), [
    'CiliumLoadBalancerIPPool/cluster-pool: spec.blocks[0].start differs',
    'CiliumLoadBalancerIPPool/cluster-pool: spec.blocks[0].stop differs',
  ]);
});

test('valueDiff: every leaf of wanted, with what was found', (t) => {
  const wanted = ciliumValues(config, config.a).objects[0];
  const found = clone(wanted);
  found.operator = { replicas: 1 }; // the CLI adds values of its own
  found.cluster.id = 3;
  found.k8sServicePort = '6443';
  delete found.l2announcements;
  found.hubble.metrics.enabled = ['dns'];
  t.deepEqual(valueDiff(wanted, found), [
    'cluster.id: wanted 1, found 3',
    'l2announcements.enabled: wanted true, found nothing',
    'hubble.metrics.enabled: wanted ["dns","drop","tcp","flow","port-distribution","icmp","http"], found ["dns"]',
  ]);
  t.deepEqual(valueDiff(wanted, clone(wanted)), []);
});

test('valueDiff: the article\'s wrong pod CIDR key is seen as the list missing', (t) => {
  const wanted = ciliumValues(config, config.a).objects[0];
  const found = clone(wanted);
  found.ipam.operator = { clusterPoolIPv4PodCIDR: '10.42.0.0/16' };
  t.deepEqual(valueDiff(wanted, found), ['ipam.operator.clusterPoolIPv4PodCIDRList: wanted ["10.42.0.0/16"], found nothing']);
  t.deepEqual(valueDiff({ list: ['a'] }, { list: 'a' }), ['list: wanted ["a"], found "a"'], 'a list is not its string');
});

/**
 * A Helm release the way Helm v3 stores it: JSON, gzip, base64 (the Secret's
 * value), then base64 again, as the API returns Secret data.
 * @param {any} release
 */
const helmSecretData = (release) =>
  Buffer.from(gzipSync(Buffer.from(JSON.stringify(release))).toString('base64')).toString('base64');

test('decodeHelmRelease: reads a release as the API returns it', (t) => {
  const values = ciliumValues(config, config.a).objects[0];
  const release = { name: 'cilium', version: 4, config: values, chart: { metadata: { name: 'cilium', version: '1.19.3' } }, info: { status: 'deployed' } };
  const decoded = decodeHelmRelease(helmSecretData(release));
  t.deepEqual(decoded, release);
  t.deepEqual(valueDiff(values, decoded.config), [], 'what we install is what we read back');
});

test('decodeHelmRelease: an uncompressed release is read too', (t) => {
  const release = { version: 1, config: { a: 1 } };
  const data = Buffer.from(Buffer.from(JSON.stringify(release)).toString('base64')).toString('base64');
  t.deepEqual(decodeHelmRelease(data), release);
});

test('decodeHelmRelease: garbage throws instead of giving an empty release', (t) => {
  t.throws(() => decodeHelmRelease(Buffer.from('not a release').toString('base64')));
});

test('dropServerFields: the lines the transcript\'s sed deletes, and only those: Helm\'s labels and annotations and the data kept', (t) => {
  // As `kubectl get secret -o yaml` prints it; a label and data that merely mention a server field stay.
  const live = [
    'apiVersion: v1',
    'data:',
    '  ca.crt: dWlkOiB4',
    '  ca.key: cmVzb3VyY2VWZXJzaW9uOiAx',
    'kind: Secret',
    'metadata:',
    '  annotations:',
    '    meta.helm.sh/release-name: cilium',
    '    meta.helm.sh/release-namespace: kube-system',
    '  creationTimestamp: "2025-05-01T10:00:00Z"',
    '  labels:',
    '    app.kubernetes.io/managed-by: Helm',
    '    uid: keep-me',
    '  name: cilium-ca',
    '  namespace: kube-system',
    '  resourceVersion: "1234"',
    '  uid: 0c4a2b1e-0000-4000-8000-000000000000',
    'type: Opaque',
    '',
  ].join('\n');
  const copy = dropServerFields(live);
  t.is(copy, execFileSync('bash', ['-c', DROP_SERVER_FIELDS], { input: live, encoding: 'utf8' }), 'in memory as in the transcript');
  const [secret] = parseManifests(copy);
  t.deepEqual(secret, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: 'cilium-ca',
      namespace: 'kube-system',
      labels: { 'app.kubernetes.io/managed-by': 'Helm', uid: 'keep-me' },
      annotations: { 'meta.helm.sh/release-name': 'cilium', 'meta.helm.sh/release-namespace': 'kube-system' },
    },
    data: { 'ca.crt': 'dWlkOiB4', 'ca.key': 'cmVzb3VyY2VWZXJzaW9uOiAx' },
  });
});
