// @ts-check
// L2 announcements decide where the data plane listens. What must not happen
// is checked once the data plane has settled (no reconcile pending): it has
// seen the change by then.
import test from 'ava';
import { startControllers } from '../../twin/controllers/index.mjs';
import { startDataplane } from '../../twin/dataplane/index.mjs';
import {
  deployment, fakeTwin, httpGet, installCilium, l2Policy, lbIp, lbService, pool,
} from '../../twin/controllers/testkit.mjs';
import { waitFor } from '../support/time.mjs';

const POOLS = 'cilium.io/ciliumloadbalancerippools';
const L2 = 'cilium.io/ciliuml2announcementpolicies';

/**
 * Cilium in cluster a (and b when asked), a pool, and the echo app and Service.
 * @param {import('ava').ExecutionContext} t @param {string} base
 * @param {{ l2?: boolean }} [o]
 */
async function world(t, base, o = {}) {
  const twin = fakeTwin({ nodeIpBase: { a: `${base}.1.1`, b: `${base}.2.1` } });
  const ctl = startControllers(twin);
  const dp = await startDataplane(twin);
  t.teardown(async () => { await dp.stop(); ctl.stop(); });
  installCilium(twin, 'a', { l2: o.l2 });
  const s = twin.clusters.a.store;
  s.create(POOLS, pool('app-pool', [{ start: `${base}.20.1`, stop: `${base}.20.9` }]));
  s.create('apps/deployments', deployment('echo', 'echo', { image: 'mcbtaguiad/web-echo:cluster-a' }));
  s.create('/services', lbService('echo', 'echo', { labels: { 'lb-pool': 'app' }, port: 8080 }));
  const ip = await waitFor(() => lbIp(twin, 'a', 'echo', 'echo'), 'VIP');
  await waitFor(() => s.get('apps/deployments', 'echo', 'echo')?.status?.readyReplicas, 'echo ready');
  return { twin, dp, s, url: `http://${ip}:8080/`, ip };
}

/** @param {string} url */
const refused = async (url) => {
  try {
    await httpGet(url);
    return false;
  } catch (err) {
    return /ECONNREFUSED/.test(String(/** @type {Error} */ (err).message));
  }
};

test('a VIP is answered only while a matching L2 policy announces it; the Lease names the node', async (t) => {
  const { twin, dp, s, url, ip } = await world(t, '127.105');
  await dp.settle();
  t.true(await refused(url), 'no policy: not announced');
  t.deepEqual(dp.listeners(), []);

  s.create(L2, l2Policy('other', { loadBalancerIPs: true, serviceSelector: { matchLabels: { 'lb-pool': 'mesh' } } }));
  s.create(L2, l2Policy('ext-only', { externalIPs: true }));
  s.create(L2, l2Policy('no-node', { loadBalancerIPs: true, nodeSelector: { matchLabels: { 'kubernetes.io/hostname': 'elsewhere' } } }));
  await dp.settle();
  t.true(await refused(url), 'selector mismatch, loadBalancerIPs unset, or no node selected: not announced');

  s.create(L2, l2Policy('app', {
    loadBalancerIPs: true,
    serviceSelector: { matchLabels: { 'io.kubernetes.service.namespace': 'echo' } },
    nodeSelector: { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] },
    interfaces: ['^eth[0-9]+'],
  }));
  await waitFor(() => dp.listeners().length === 1, 'listener opened');
  t.like(dp.listeners()[0], { cluster: 'a', ip, port: 8080, kind: 'echo', service: 'echo/echo' });
  const r = await httpGet(url);
  t.regex(r.body, /<h3>Cluster A<\/h3>/);
  const lease = twin.clusters.a.store.get('coordination.k8s.io/leases', 'kube-system', 'cilium-l2announce-echo-echo');
  t.is(lease?.spec.holderIdentity, 'k3s-a-agent-1', 'the node selected by the policy announces');

  s.delete(L2, '', 'app');
  await waitFor(() => dp.listeners().length === 0, 'listener closed');
  t.true(await refused(url));
  await waitFor(() => !twin.clusters.a.store.get('coordination.k8s.io/leases', 'kube-system', 'cilium-l2announce-echo-echo'), 'lease gone');
});

test('no listener without enable-l2-announcements, nor while no cilium agent is ready', async (t) => {
  const { dp, s, url } = await world(t, '127.106', { l2: false });
  s.create(L2, l2Policy('l2-policy'));
  await dp.settle();
  t.true(await refused(url));
  t.deepEqual(dp.listeners(), []);

  const cm = /** @type {any} */ (s.get('/configmaps', 'kube-system', 'cilium-config'));
  cm.data['enable-l2-announcements'] = 'true';
  s.update('/configmaps', cm);
  await waitFor(() => dp.listeners().length === 1, 'announced once enabled');

  s.delete('apps/daemonsets', 'kube-system', 'cilium');
  await waitFor(() => dp.listeners().length === 0, 'no agent, no announcement');
  t.pass();
});

test('an IP outside 127.0.0.0/8 is never bound; two clusters announcing one IP: the first binds', async (t) => {
  const { twin, dp, s } = await world(t, '127.107');
  s.create(L2, l2Policy('l2-policy'));
  s.create(POOLS, pool('lan', [{ start: '192.168.254.230' }], { serviceSelector: { matchLabels: { lan: 'yes' } } }));
  s.create('/services', lbService('echo', 'lan', {
    labels: { lan: 'yes' }, selector: { app: 'echo' }, port: 8080, annotations: { 'lbipam.cilium.io/ips': '192.168.254.230' },
  }));
  t.is(await waitFor(() => lbIp(twin, 'a', 'echo', 'lan'), 'LAN IP assigned'), '192.168.254.230');
  await waitFor(() => dp.listeners().length === 1, 'loopback VIP listening');
  await dp.settle();
  t.false(dp.listeners().some((l) => l.ip.startsWith('192.168.')), 'never bound outside loopback');

  // Cluster b gets the same VIP from an overlapping pool (Cilium does not check across clusters).
  installCilium(twin, 'b');
  const sb = twin.clusters.b.store;
  sb.create(POOLS, pool('app-pool', [{ start: '127.107.20.1', stop: '127.107.20.9' }]));
  sb.create(L2, l2Policy('l2-policy'));
  sb.create('apps/deployments', deployment('echo', 'echo', { image: 'mcbtaguiad/web-echo:cluster-b' }));
  sb.create('/services', lbService('echo', 'echo', { port: 8080 }));
  await waitFor(() => lbIp(twin, 'b', 'echo', 'echo') === '127.107.20.1', 'same VIP in b');
  await waitFor(() => sb.get('apps/deployments', 'echo', 'echo')?.status?.readyReplicas, 'b echo ready');
  await dp.settle();
  t.is(dp.listeners().filter((l) => l.ip === '127.107.20.1').length, 1);
  t.is(dp.listeners().find((l) => l.ip === '127.107.20.1')?.cluster, 'a', 'a was there first');
  t.regex((await httpGet('http://127.107.20.1:8080/')).body, /Cluster A/);

  s.delete('/services', 'echo', 'echo');
  await waitFor(() => dp.listeners().find((l) => l.ip === '127.107.20.1')?.cluster === 'b', 'b takes over');
  t.regex((await httpGet('http://127.107.20.1:8080/')).body, /Cluster B/);
});
