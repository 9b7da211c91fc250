// @ts-check
// LB-IPAM: pools, selectors, requested IPs, ranges, exhaustion, conflicts,
// release, the operator rule, and K3s's ServiceLB fault.
import test from 'ava';
import { startControllers } from '../../twin/controllers/index.mjs';
import { fakeTwin, installCilium, lbIp, lbService, pool } from '../../twin/controllers/testkit.mjs';
import { waitFor } from '../support/time.mjs';

const POOLS = 'cilium.io/ciliumloadbalancerippools';
const SAT = 'cilium.io/IPAMRequestSatisfied';

/** @param {any} o @param {string} type */
const cond = (o, type) => o?.status?.conditions?.find((/** @type {any} */ c) => c.type === type);

/**
 * A twin with Cilium's operator ready in cluster a.
 * @param {import('ava').ExecutionContext} t @param {Parameters<typeof fakeTwin>[0]} [opts]
 */
async function ready(t, opts) {
  const twin = fakeTwin(opts);
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  installCilium(twin, 'a');
  await waitFor(() => (twin.clusters.a.store.get('apps/deployments', 'kube-system', 'cilium-operator')?.status?.readyReplicas ?? 0) >= 1, 'operator');
  return { twin, s: twin.clusters.a.store };
}

/** @param {import('../../twin/types.js').Twin} twin @param {string} ns @param {string} name */
const svcOf = (twin, ns, name) => twin.clusters.a.store.get('/services', ns, name);

/**
 * Watches a store for what LB-IPAM must never do: give a Service an IP or a
 * condition while cilium-operator has no ready replica. Returns the list of
 * such writes ("ns/name ip"), filled as they happen; checked at the end of a
 * test, it covers the whole time instead of one moment after a sleep.
 * @param {import('../../twin/store/store.mjs').Store} s
 */
function writesWithoutOperator(s) {
  /** @type {string[]} */
  const bad = [];
  /** @param {any} o */
  const ipOf = (o) => o?.status?.loadBalancer?.ingress?.[0]?.ip;
  const known = new Map(s.list('/services').map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, [ipOf(o), Boolean(cond(o, SAT))]]));
  s.on('event', (e) => {
    if (e.resource !== '/services') return;
    const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
    const [ip, sat] = [ipOf(e.object), Boolean(cond(e.object, SAT))];
    const [was, wasSat] = known.get(key) ?? [undefined, false];
    known.set(key, [ip, sat]);
    if ((s.get('apps/deployments', 'kube-system', 'cilium-operator')?.status?.readyReplicas ?? 0) >= 1) return;
    if (ip && ip !== was) bad.push(`${key} ${ip}`);
    if (sat && !wasSat) bad.push(`${key} condition`);
  });
  return bad;
}

test('LoadBalancer Services stay pending while cilium-operator is not ready', async (t) => {
  const twin = fakeTwin();
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  const s = twin.clusters.a.store;
  const bad = writesWithoutOperator(s);
  s.create(POOLS, pool('p', [{ start: '127.91.0.10', stop: '127.91.0.19' }]));
  s.create('/services', lbService('echo', 'echo'));
  t.falsy(lbIp(twin, 'a', 'echo', 'echo'));

  installCilium(twin, 'a');
  const ip = await waitFor(() => lbIp(twin, 'a', 'echo', 'echo'), 'IP after the operator runs');
  t.deepEqual(bad, [], 'no operator, no IP and no condition');
  t.is(ip, '127.91.0.10', 'lowest free IP first');
  const svc = svcOf(twin, 'echo', 'echo');
  t.deepEqual(svc?.status.loadBalancer.ingress, [{ ip: '127.91.0.10', ipMode: 'VIP' }]);
  t.like(cond(svc, SAT), { status: 'True', reason: 'satisfied', message: '' });
});

test('a pool with a serviceSelector serves only matching Services, including the namespace/name virtual labels', async (t) => {
  const { twin, s } = await ready(t);
  s.create(POOLS, pool('app-pool', [{ start: '127.91.1.30', stop: '127.91.1.39' }], { serviceSelector: { matchLabels: { 'lb-pool': 'app' } } }));
  s.create(POOLS, pool('mesh-pool', [{ start: '127.91.1.20' }], {
    serviceSelector: { matchLabels: { 'io.kubernetes.service.namespace': 'kube-system', 'io.kubernetes.service.name': 'clustermesh-apiserver' } },
  }));
  s.create(POOLS, pool('expr-pool', [{ cidr: '127.91.1.64/30' }], {
    serviceSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }, { key: 'legacy', operator: 'DoesNotExist' }] },
  }));
  s.create('/services', lbService('echo', 'echo', { labels: { 'lb-pool': 'app' } }));
  s.create('/services', lbService('kube-system', 'clustermesh-apiserver', { port: 2379 }));
  s.create('/services', lbService('web', 'front', { labels: { tier: 'web' } }));
  s.create('/services', lbService('web', 'old', { labels: { tier: 'web', legacy: 'yes' } }));
  s.create('/services', lbService('other', 'plain'));

  t.is(await waitFor(() => lbIp(twin, 'a', 'echo', 'echo'), 'echo'), '127.91.1.30');
  t.is(await waitFor(() => lbIp(twin, 'a', 'kube-system', 'clustermesh-apiserver'), 'mesh'), '127.91.1.20');
  t.is(await waitFor(() => lbIp(twin, 'a', 'web', 'front'), 'front'), '127.91.1.64', 'cidr: first IP allocatable by default');
  const noPool = await waitFor(() => cond(svcOf(twin, 'other', 'plain'), SAT), 'plain condition');
  t.like(noPool, { status: 'False', reason: 'no_pool', message: 'There are no enabled CiliumLoadBalancerIPPools that match this service' });
  t.falsy(lbIp(twin, 'a', 'other', 'plain'));
  t.like(await waitFor(() => cond(svcOf(twin, 'web', 'old'), SAT), 'old condition'), { status: 'False', reason: 'no_pool' });
});

test('requested IPs: lbipam.cilium.io/ips, the older io.cilium/lb-ipam-ips, and the failures', async (t) => {
  const { twin, s } = await ready(t);
  s.create(POOLS, pool('p', [{ start: '127.91.2.10', stop: '127.91.2.19' }]));
  s.create(POOLS, pool('sel', [{ start: '127.91.2.50', stop: '127.91.2.59' }], { serviceSelector: { matchLabels: { x: 'y' } } }));
  s.create('/services', lbService('ns', 'want15', { annotations: { 'lbipam.cilium.io/ips': '127.91.2.15' } }));
  s.create('/services', lbService('ns', 'legacy', { annotations: { 'io.cilium/lb-ipam-ips': '127.91.2.17' } }));
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'want15'), 'want15'), '127.91.2.15');
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'legacy'), 'legacy'), '127.91.2.17');

  s.create('/services', lbService('ns', 'taken', { annotations: { 'lbipam.cilium.io/ips': '127.91.2.15' } }));
  s.create('/services', lbService('ns', 'outside', { annotations: { 'lbipam.cilium.io/ips': '127.91.3.1' } }));
  s.create('/services', lbService('ns', 'mismatch', { annotations: { 'lbipam.cilium.io/ips': '127.91.2.55' } }));
  t.like(await waitFor(() => cond(svcOf(twin, 'ns', 'taken'), SAT), 'taken'),
    { status: 'False', reason: 'already_allocated', message: "The IP '127.91.2.15' is already allocated to another service" });
  t.like(await waitFor(() => cond(svcOf(twin, 'ns', 'outside'), SAT), 'outside'),
    { status: 'False', reason: 'no_pool', message: "No pool exists with a CIDR containing '127.91.3.1'" });
  t.like(await waitFor(() => cond(svcOf(twin, 'ns', 'mismatch'), SAT), 'mismatch'),
    { status: 'False', reason: 'pool_selector_mismatch' });
  t.falsy(lbIp(twin, 'a', 'ns', 'taken'));

  s.create('/services', lbService('ns', 'any'));
  // pkg/ipalloc takes the first IP of the smallest free block: .16 sits alone between .15 and .17.
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'any'), 'any'), '127.91.2.16', 'smallest free block first');
  s.create('/services', lbService('ns', 'any2'));
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'any2'), 'any2'), '127.91.2.18');
});

test('cidr blocks: allowFirstLastIPs No reserves network and broadcast, not for /31 and /32; start without stop is one IP', async (t) => {
  const { twin, s } = await ready(t);
  s.create(POOLS, pool('no', [{ cidr: '127.91.4.0/30' }], { allowFirstLastIPs: 'No', serviceSelector: { matchLabels: { p: 'no' } } }));
  s.create(POOLS, pool('p31', [{ cidr: '127.91.4.8/31' }], { allowFirstLastIPs: 'No', serviceSelector: { matchLabels: { p: '31' } } }));
  s.create(POOLS, pool('one', [{ start: '127.91.4.20' }], { serviceSelector: { matchLabels: { p: 'one' } } }));
  for (const i of [1, 2, 3]) s.create('/services', lbService('ns', `no${i}`, { labels: { p: 'no' } }));
  for (const i of [1, 2]) s.create('/services', lbService('ns', `t${i}`, { labels: { p: '31' } }));
  for (const i of [1, 2]) s.create('/services', lbService('ns', `one${i}`, { labels: { p: 'one' } }));

  await waitFor(() => cond(svcOf(twin, 'ns', 'no3'), SAT) && cond(svcOf(twin, 'ns', 'one2'), SAT), 'all evaluated');
  const noIps = ['no1', 'no2', 'no3'].map((n) => lbIp(twin, 'a', 'ns', n)).filter(Boolean).sort();
  t.deepEqual(noIps, ['127.91.4.1', '127.91.4.2'], '.0 and .3 are reserved');
  const exhausted = ['no1', 'no2', 'no3'].map((n) => cond(svcOf(twin, 'ns', n), SAT)).find((c) => c.status === 'False');
  t.like(exhausted, { reason: 'out_of_ips', message: 'All enabled CiliumLoadBalancerIPPools that match this service ran out of allocatable IPs' });
  t.deepEqual(['t1', 't2'].map((n) => lbIp(twin, 'a', 'ns', n)).sort(), ['127.91.4.8', '127.91.4.9'], '/31 keeps both IPs');
  const ones = ['one1', 'one2'].map((n) => lbIp(twin, 'a', 'ns', n));
  t.deepEqual(ones.filter(Boolean), ['127.91.4.20']);

  const noPool = await waitFor(() => {
    const p = s.get(POOLS, '', 'no');
    return cond(p, 'cilium.io/IPsAvailable')?.message === '0' ? p : undefined;
  }, 'pool counts');
  t.like(cond(noPool, 'cilium.io/IPsTotal'), { status: 'Unknown', reason: 'noreason', message: '4' });
  t.is(cond(noPool, 'cilium.io/IPsUsed').message, '4', 'reserved first/last count as used, as in Cilium');
  t.like(cond(noPool, 'cilium.io/PoolConflict'), { status: 'False', reason: 'resolved' });
});

test('a pool overlapping an older one is marked conflicting and allocates nothing, until the older one goes', async (t) => {
  const { twin, s } = await ready(t);
  s.create(POOLS, pool('older', [{ start: '127.91.5.10', stop: '127.91.5.12' }], { serviceSelector: { matchLabels: { p: 'old' } } }));
  await waitFor(() => cond(s.get(POOLS, '', 'older'), 'cilium.io/PoolConflict'), 'older evaluated');
  s.create(POOLS, pool('newer', [{ cidr: '127.91.5.8/29' }]));
  const marked = await waitFor(() => {
    const c = cond(s.get(POOLS, '', 'newer'), 'cilium.io/PoolConflict');
    return c?.status === 'True' ? c : undefined;
  }, 'newer conflicting');
  t.is(marked.reason, 'cidr_overlap');
  t.is(marked.message, "Pool conflicts since range '127.91.5.8 - 127.91.5.15' overlaps range '127.91.5.10 - 127.91.5.12' from IP Pool 'older'");
  t.is(cond(s.get(POOLS, '', 'older'), 'cilium.io/PoolConflict')?.status, 'False');

  s.create('/services', lbService('ns', 'x'));
  t.like(await waitFor(() => cond(svcOf(twin, 'ns', 'x'), SAT), 'x evaluated'), { status: 'False', reason: 'no_pool' },
    'the only pool selecting x is conflicting');

  s.delete(POOLS, '', 'older');
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'x'), 'x gets an IP after the conflict resolves'), '127.91.5.8');
  t.like(cond(s.get(POOLS, '', 'newer'), 'cilium.io/PoolConflict'), { status: 'False', reason: 'resolved' });
});

test('IPs are released when a Service is deleted or stops being a LoadBalancer; a disabled pool allocates nothing new', async (t) => {
  const { twin, s } = await ready(t);
  s.create(POOLS, pool('p', [{ start: '127.91.6.1', stop: '127.91.6.2' }]));
  s.create('/services', lbService('ns', 'a1'));
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'a1'), 'a1'), '127.91.6.1');
  s.create('/services', lbService('ns', 'a2'));
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'a2'), 'a2'), '127.91.6.2');
  s.create('/services', lbService('ns', 'a3'));
  t.like(await waitFor(() => cond(svcOf(twin, 'ns', 'a3'), SAT), 'a3'), { status: 'False', reason: 'out_of_ips' });

  s.delete('/services', 'ns', 'a1');
  t.is(await waitFor(() => lbIp(twin, 'a', 'ns', 'a3'), 'a3 gets the released IP'), '127.91.6.1');

  const a2 = /** @type {any} */ (svcOf(twin, 'ns', 'a2'));
  a2.spec.type = 'ClusterIP';
  s.update('/services', a2);
  await waitFor(() => !lbIp(twin, 'a', 'ns', 'a2'), 'a2 ingress cleared');
  t.falsy(cond(svcOf(twin, 'ns', 'a2'), SAT));

  const p = /** @type {any} */ (s.get(POOLS, '', 'p'));
  p.spec.disabled = true;
  s.update(POOLS, p);
  s.create('/services', lbService('ns', 'a4'));
  t.like(await waitFor(() => cond(svcOf(twin, 'ns', 'a4'), SAT), 'a4'), { status: 'False', reason: 'no_pool' });
  t.is(lbIp(twin, 'a', 'ns', 'a3'), '127.91.6.1', 'existing allocations stay on a disabled pool');
});

test('loadBalancerClass: Cilium classes are served, other classes are left alone; deleting the last pool takes IPs away', async (t) => {
  const { twin, s } = await ready(t);
  s.create(POOLS, pool('p', [{ start: '127.91.7.1', stop: '127.91.7.9' }]));
  s.create('/services', lbService('ns', 'l2', { cls: 'io.cilium/l2-announcer' }));
  s.create('/services', lbService('ns', 'bgp', { cls: 'io.cilium/bgp-control-plane' }));
  s.create('/services', lbService('ns', 'metallb', { cls: 'metallb.io/metallb' }));
  // The pass that served l2 and bgp saw metallb too (one pass handles every Service; all three were there).
  await waitFor(() => lbIp(twin, 'a', 'ns', 'l2') && lbIp(twin, 'a', 'ns', 'bgp'), 'cilium classes');
  t.falsy(lbIp(twin, 'a', 'ns', 'metallb'));
  t.falsy(cond(svcOf(twin, 'ns', 'metallb'), SAT));

  s.delete(POOLS, '', 'p');
  const c = await waitFor(() => {
    const x = cond(svcOf(twin, 'ns', 'l2'), SAT);
    return x?.status === 'False' ? x : undefined;
  }, 'IP taken away');
  t.is(c.reason, 'no_pool');
  t.falsy(lbIp(twin, 'a', 'ns', 'l2'));
});

test('K3s ServiceLB fault: svclb takes class-less LoadBalancer Services and writes node IPs', async (t) => {
  const { twin, s } = await ready(t, { servicelb: true, nodeIpBase: { a: '127.91.8.1', b: '127.91.9.1' } });
  s.create(POOLS, pool('p', [{ start: '127.91.8.100', stop: '127.91.8.109' }]));
  s.create('/services', lbService('kube-system', 'clustermesh-apiserver', { port: 2379 }));
  s.create('/services', lbService('echo', 'echo', { cls: 'io.cilium/l2-announcer' }));
  const ingress = await waitFor(() => {
    const i = svcOf(twin, 'kube-system', 'clustermesh-apiserver')?.status?.loadBalancer?.ingress;
    return i?.length === 2 ? i : undefined;
  }, 'svclb ingress');
  t.deepEqual(ingress.map((/** @type {any} */ i) => i.ip), ['127.91.8.1', '127.91.8.2'], 'node IPs, not a pool IP');
  const ds = s.list('apps/daemonsets', 'kube-system').find((d) => d.metadata.name.startsWith('svclb-clustermesh-apiserver-'));
  t.truthy(ds);
  t.is(await waitFor(() => lbIp(twin, 'a', 'echo', 'echo'), 'echo'), '127.91.8.100', 'a Service with a Cilium class still gets a pool IP');
  t.falsy(cond(svcOf(twin, 'kube-system', 'clustermesh-apiserver'), SAT));

  const plain = fakeTwin({ nodeIpBase: { a: '127.91.10.1', b: '127.91.11.1' } });
  const ctl = startControllers(plain);
  t.teardown(() => ctl.stop());
  installCilium(plain, 'a');
  plain.clusters.a.store.create(POOLS, pool('p', [{ start: '127.91.10.100' }]));
  plain.clusters.a.store.create('/services', lbService('kube-system', 'clustermesh-apiserver', { port: 2379 }));
  t.is(await waitFor(() => lbIp(plain, 'a', 'kube-system', 'clustermesh-apiserver'), 'pool IP'), '127.91.10.100',
    'with --disable=servicelb Cilium assigns the pool IP');
});

test('an operator restart keeps the IPs Services show; Services that became eligible meanwhile get free ones', async (t) => {
  const { twin, s } = await ready(t);
  s.create(POOLS, pool('p', [{ start: '127.91.12.1', stop: '127.91.12.9' }], { serviceSelector: { matchLabels: { lb: 'yes' } } }));
  s.create('/services', lbService('ns', 'early'));
  s.create('/services', lbService('ns', 'first', { labels: { lb: 'yes' } }));
  s.create('/services', lbService('ns', 'second', { labels: { lb: 'yes' } }));
  await waitFor(() => lbIp(twin, 'a', 'ns', 'first') && lbIp(twin, 'a', 'ns', 'second') && cond(svcOf(twin, 'ns', 'early'), SAT), 'assigned');
  const before = { first: lbIp(twin, 'a', 'ns', 'first'), second: lbIp(twin, 'a', 'ns', 'second') };

  const op = /** @type {any} */ (s.get('apps/deployments', 'kube-system', 'cilium-operator'));
  const bad = writesWithoutOperator(s);
  s.delete('apps/deployments', 'kube-system', 'cilium-operator');
  // The operator is down for the controllers once its pods are gone.
  await waitFor(() => !s.list('/pods', 'kube-system').some((x) => x.metadata.name.startsWith('cilium-operator')), "the operator's pods gone");
  const early = /** @type {any} */ (svcOf(twin, 'ns', 'early'));
  early.metadata.labels = { lb: 'yes' };
  s.update('/services', early);
  t.falsy(lbIp(twin, 'a', 'ns', 'early'), 'no operator, no IP');

  s.create('apps/deployments', {
    apiVersion: op.apiVersion, kind: op.kind, metadata: { name: op.metadata.name, namespace: 'kube-system', labels: op.metadata.labels }, spec: op.spec,
  });
  const got = await waitFor(() => lbIp(twin, 'a', 'ns', 'early'), 'assigned after the restart');
  t.deepEqual(bad, [], 'no IP while the operator was down (nor before the new one was ready)');
  t.deepEqual({ first: lbIp(twin, 'a', 'ns', 'first'), second: lbIp(twin, 'a', 'ns', 'second') }, before, 'the restarted operator adopts them');
  t.false(Object.values(before).includes(got), 'the newly eligible Service does not take an IP in use');
});
