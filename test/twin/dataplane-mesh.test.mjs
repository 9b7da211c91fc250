// @ts-check
// The clustermesh-apiserver endpoints over real HTTP, and meshState on top of
// the listeners that really answer.
import test from 'ava';
import { createHash } from 'node:crypto';
import { startControllers, meshState } from '../../twin/controllers/index.mjs';
import { startDataplane } from '../../twin/dataplane/index.mjs';
import {
  bootMesh, enableClustermesh, fakeTwin, httpGet, installCilium, lbIp, scale,
} from '../../twin/controllers/testkit.mjs';
import { waitFor } from '../support/time.mjs';

/** @param {import('ava').ExecutionContext} t @param {string} base */
async function world(t, base) {
  const twin = fakeTwin({ nodeIpBase: { a: `${base}.1.1`, b: `${base}.2.1` } });
  const ctl = startControllers(twin);
  const dp = await startDataplane(twin);
  t.teardown(async () => { await dp.stop(); ctl.stop(); });
  return { twin, dp };
}

test('the clustermesh endpoint answers GET /twin/clustermesh with the cluster\'s identity, and the mesh connects', async (t) => {
  const { twin, dp } = await world(t, '127.100');
  await bootMesh(twin, '127.100');
  const st = await waitFor(() => {
    const m = meshState(twin);
    return m.connected ? m : undefined;
  }, 'connected');
  t.deepEqual(st.reasons, []);
  t.is(dp.servedBy('127.100.10.1', 2379), 'a');
  t.is(dp.servedBy('127.100.10.2', 2379), 'b');
  t.true(dp.listeners().some((l) => l.kind === 'clustermesh' && l.cluster === 'b' && l.ip === '127.100.10.2' && l.port === 2379 &&
    l.service === 'kube-system/clustermesh-apiserver'));

  const r = await httpGet('http://127.100.10.2:2379/twin/clustermesh');
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'application/json');
  t.deepEqual(JSON.parse(r.body), {
    clusterName: 'cluster-b',
    clusterId: 2,
    caFingerprint: createHash('sha256').update('SHARED-TEST-CA').digest('hex'),
    ready: true,
    remotes: ['cluster-a'],
  });
  const other = await httpGet('http://127.100.10.2:2379/v3/kv/range');
  t.is(other.status, 404);
});

test('the endpoint exists only while the clustermesh-apiserver Deployment is ready', async (t) => {
  const { twin } = await world(t, '127.101');
  await bootMesh(twin, '127.101');
  await waitFor(() => meshState(twin).connected, 'connected');
  scale(twin, 'b', 'kube-system', 'clustermesh-apiserver', 0);
  await waitFor(() => !meshState(twin).connected, 'disconnected');
  await t.throwsAsync(httpGet('http://127.101.10.2:2379/twin/clustermesh'), { message: /ECONNREFUSED/ });
  t.true(meshState(twin).reasons.includes('cluster-a is not connected to cluster cluster-b: dial tcp 127.101.10.2:2379: connect: connection refused'));
  scale(twin, 'b', 'kube-system', 'clustermesh-apiserver', 1);
  await waitFor(() => meshState(twin).connected, 'connected again');
  t.pass();
});

test('both clusters\' apiservers on one IP: the first binds, the mesh is not connected, with the article\'s reason', async (t) => {
  const { twin, dp } = await world(t, '127.102');
  await bootMesh(twin, '127.102', { meshIps: ['127.102.10.1', '127.102.10.1'] });
  t.is(lbIp(twin, 'a', 'kube-system', 'clustermesh-apiserver'), lbIp(twin, 'b', 'kube-system', 'clustermesh-apiserver'));
  const winner = await waitFor(() => dp.servedBy('127.102.10.1', 2379), 'someone listens');
  const loser = winner === 'a' ? 'b' : 'a';
  t.is(dp.listeners().filter((l) => l.ip === '127.102.10.1').length, 1, 'one binds, the other is an ARP conflict');
  const body = JSON.parse((await httpGet('http://127.102.10.1:2379/twin/clustermesh')).body);
  t.is(body.clusterName, `cluster-${winner}`);
  const st = meshState(twin);
  t.false(st.connected);
  t.true(st.reasons.includes(`cluster-${winner} is not connected to cluster cluster-${loser}: remote cluster configuration required but not found`),
    JSON.stringify(st.reasons));
  t.false(st.clusters[winner].connected, 'the winner reaches itself');
  t.true(st.clusters[loser].connected, 'only one direction works');
});

test('CA mismatch: the endpoints answer but the mesh is not connected', async (t) => {
  const { twin } = await world(t, '127.103');
  await bootMesh(twin, '127.103', { cas: ['CA-OF-A', 'CA-OF-B'] });
  await waitFor(() => {
    const m = meshState(twin);
    return m.clusters.a.reachedCluster === 'b' && m.clusters.b.reachedCluster === 'a';
  }, 'each reaches the other');
  const st = meshState(twin);
  t.false(st.connected);
  t.true(st.reasons.includes('Cilium CA certificates do not match between clusters cluster-a and cluster-b'));
  const a = JSON.parse((await httpGet('http://127.103.10.1:2379/twin/clustermesh')).body);
  const b = JSON.parse((await httpGet('http://127.103.10.2:2379/twin/clustermesh')).body);
  t.not(a.caFingerprint, b.caFingerprint);
});

test('NodePort: every node IP answers on the nodePort', async (t) => {
  const { twin, dp } = await world(t, '127.104');
  installCilium(twin, 'a');
  enableClustermesh(twin, 'a', 'NodePort');
  await waitFor(() => dp.listeners().filter((l) => l.kind === 'clustermesh').length === 2, 'two node listeners');
  for (const n of twin.clusters.a.nodes) {
    const r = await httpGet(`http://${n.ip}:32379/twin/clustermesh`);
    t.is(JSON.parse(r.body).clusterName, 'cluster-a');
    t.is(dp.servedBy(n.ip, 32379), 'a');
  }
  t.deepEqual(JSON.parse((await httpGet(`http://${twin.clusters.a.nodes[0].ip}:32379/twin/clustermesh`)).body).remotes, []);
});
