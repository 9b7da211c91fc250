// @ts-check
// cilium-operator registers Cilium's CRDs once it runs; they become Established.
import test from 'ava';
import { startControllers } from '../../twin/controllers/index.mjs';
import { fakeTwin, installCilium } from '../../twin/controllers/testkit.mjs';
import { waitFor } from '../support/time.mjs';

const CRDS = 'apiextensions.k8s.io/customresourcedefinitions';

/** @param {any} crd @param {string} type */
const cond = (crd, type) => crd?.status?.conditions?.find((/** @type {any} */ c) => c.type === type);

/** Every key anywhere in a schema tree. @param {unknown} node @param {string} key @returns {boolean} */
const hasKey = (node, key) => {
  if (!node || typeof node !== 'object') return false;
  if (Object.prototype.hasOwnProperty.call(node, key)) return true;
  return Object.values(node).some((v) => hasKey(v, key));
};

test('no CRDs before the operator is ready; then registered, Established after crdEstablishMs', async (t) => {
  const twin = fakeTwin({ delays: { crdEstablishMs: 120, podReadyMs: 30 } });
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  const s = twin.clusters.a.store;
  t.is(s.list(CRDS).length, 0);
  // The operator's readiness when the first CRD appears (its own events may reach this listener later).
  /** @type {number | undefined} */
  let readyReplicasAtFirstCrd;
  /** @type {import('../../twin/store/types.js').KubeObject | undefined} the pool CRD as registered */
  let registered;
  s.on('event', (e) => {
    if (e.resource !== CRDS) return;
    if (!registered && e.object.metadata.name === 'ciliumloadbalancerippools.cilium.io') registered = e.object;
    if (readyReplicasAtFirstCrd !== undefined) return;
    readyReplicasAtFirstCrd = s.get('apps/deployments', 'kube-system', 'cilium-operator')?.status?.readyReplicas ?? 0;
  });
  installCilium(twin, 'a');
  t.is(s.list(CRDS).length, 0, 'the chart ships no CRDs');

  await waitFor(() => registered, 'pool CRD registered');
  t.true((readyReplicasAtFirstCrd ?? 0) >= 1, `nothing until the operator is ready (ready replicas at the first CRD: ${readyReplicasAtFirstCrd})`);
  t.falsy(cond(registered, 'Established'), 'not yet Established when registered');
  t.is(twin.clusters.b.store.list(CRDS).length, 0, 'cluster b has no Cilium');

  await waitFor(() => cond(s.get(CRDS, '', 'ciliumloadbalancerippools.cilium.io'), 'Established')?.status === 'True', 'Established');
  for (const crd of s.list(CRDS)) {
    t.is(cond(crd, 'Established')?.status, 'True', crd.metadata.name);
    t.is(cond(crd, 'NamesAccepted')?.status, 'True', crd.metadata.name);
    t.is(crd.status.acceptedNames.kind, crd.spec.names.kind);
  }
  const names = s.list(CRDS).map((c) => c.metadata.name);
  for (const n of ['ciliumloadbalancerippools', 'ciliuml2announcementpolicies', 'ciliumnodes', 'ciliumendpoints',
    'ciliumidentities', 'ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies']) {
    t.true(names.includes(`${n}.cilium.io`), n);
  }
});

test('the LB CRDs carry the real names, versions, scope and a strict schema', async (t) => {
  const twin = fakeTwin();
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  installCilium(twin, 'a');
  const s = twin.clusters.a.store;
  const pool = await waitFor(() => s.get(CRDS, '', 'ciliumloadbalancerippools.cilium.io'), 'pool CRD');
  t.is(pool.apiVersion, 'apiextensions.k8s.io/v1');
  t.is(pool.spec.group, 'cilium.io');
  t.is(pool.spec.scope, 'Cluster');
  t.deepEqual(pool.spec.names.shortNames, ['ippools', 'ippool', 'lbippool', 'lbippools']);
  t.is(pool.spec.names.kind, 'CiliumLoadBalancerIPPool');
  t.deepEqual(pool.spec.versions.map((/** @type {any} */ v) => [v.name, v.served, v.storage, !!v.deprecated]),
    [['v2', true, true, false], ['v2alpha1', true, false, true]]);
  const schema = pool.spec.versions[0].schema.openAPIV3Schema;
  const spec = schema.properties.spec.properties;
  t.deepEqual(Object.keys(spec).sort(), ['allowFirstLastIPs', 'blocks', 'disabled', 'serviceSelector']);
  t.deepEqual(spec.allowFirstLastIPs.enum, ['Yes', 'No']);
  t.deepEqual(Object.keys(spec.blocks.items.properties).sort(), ['cidr', 'start', 'stop']);
  t.deepEqual(Object.keys(spec.serviceSelector.properties).sort(), ['matchExpressions', 'matchLabels']);
  t.truthy(schema.properties.status.properties.conditions);
  t.false(hasKey(schema, 'x-kubernetes-preserve-unknown-fields'), 'unknown fields are pruned/rejected');

  const l2 = /** @type {any} */ (s.get(CRDS, '', 'ciliuml2announcementpolicies.cilium.io'));
  t.is(l2.spec.scope, 'Cluster');
  t.deepEqual(l2.spec.names.shortNames, ['l2announcement']);
  t.deepEqual(l2.spec.versions.map((/** @type {any} */ v) => v.name), ['v2alpha1']);
  const l2spec = l2.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  t.deepEqual(Object.keys(l2spec).sort(), ['externalIPs', 'interfaces', 'loadBalancerIPs', 'nodeSelector', 'serviceSelector']);
  t.is(l2spec.interfaces.type, 'array');
  t.is(l2spec.interfaces.items.type, 'string');
  t.is(l2spec.loadBalancerIPs.type, 'boolean');
  t.false(hasKey(l2.spec.versions[0].schema, 'x-kubernetes-preserve-unknown-fields'));

  const short = Object.fromEntries(s.list(CRDS).map((c) => [c.spec.names.plural, c.spec.names.shortNames ?? []]));
  t.true(short.ciliumnodes.includes('cn'));
  t.true(short.ciliumendpoints.includes('cep'));
  t.true(short.ciliumidentities.includes('ciliumid'));
  t.true(short.ciliumnetworkpolicies.includes('cnp'));
});

test('removing Cilium leaves the CRDs in place', async (t) => {
  const twin = fakeTwin();
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  installCilium(twin, 'a');
  const s = twin.clusters.a.store;
  await waitFor(() => cond(s.get(CRDS, '', 'ciliuml2announcementpolicies.cilium.io'), 'Established'), 'Established');
  const count = s.list(CRDS).length;
  s.delete('apps/deployments', 'kube-system', 'cilium-operator');
  s.delete('apps/daemonsets', 'kube-system', 'cilium');
  // The controllers have handled the removal once its pods are gone.
  await waitFor(() => !s.list('/pods', 'kube-system').some((p) => p.metadata.name.startsWith('cilium')), "Cilium's pods gone");
  t.is(s.list(CRDS).length, count);
  t.truthy(cond(s.get(CRDS, '', 'ciliuml2announcementpolicies.cilium.io'), 'Established'));
});
