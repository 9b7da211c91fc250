// @ts-check
// Requests to the echo VIPs over real HTTP: global services, affinity,
// shared:false, and failover between the clusters of the mesh.
import test from 'ava';
import { startControllers, meshState } from '../../twin/controllers/index.mjs';
import { startDataplane } from '../../twin/dataplane/index.mjs';
import { echoPage, imageTag } from '../../twin/dataplane/echo.mjs';
import {
  bootMesh, deployEcho, fakeTwin, httpGet, lbIp, scale,
} from '../../twin/controllers/testkit.mjs';
import { scaled, waitFor } from '../support/time.mjs';

/** @typedef {import('../../twin/types.js').Twin} Twin */

/**
 * A running twin (controllers and data plane) with node IPs under `base`.
 * @param {import('ava').ExecutionContext} t @param {string} base
 */
async function world(t, base) {
  const twin = fakeTwin({ nodeIpBase: { a: `${base}.1.1`, b: `${base}.2.1` } });
  const ctl = startControllers(twin);
  const dp = await startDataplane(twin);
  t.teardown(async () => { await dp.stop(); ctl.stop(); });
  return { twin, dp };
}

/** The VIP URL of echo in a cluster, once the listener is up. @param {Twin} twin @param {'a'|'b'} key */
async function vip(twin, key) {
  const ip = await waitFor(() => lbIp(twin, key, 'echo', 'echo'), `echo VIP in ${key}`);
  const url = `http://${ip}:8080/`;
  const listening = async () => {
    try {
      await httpGet(url);
      return true;
    } catch (err) {
      return !/ECONNREFUSED/.test(String(/** @type {Error} */ (err).message)); // listening, maybe no backend
    }
  };
  await waitFor(listening, `a listener on ${url}`);
  return url;
}

/** @param {string} url @returns {Promise<string>} the <h3> text, or 'FAILED' */
async function whoAnswers(url) {
  try {
    const r = await httpGet(url);
    return /<h3>(.*)<\/h3>/.exec(r.body)?.[1] ?? `status ${r.status}`;
  } catch {
    return 'FAILED';
  }
}

/** Polls until the answer is `want`. @param {string} url @param {string} want */
async function until(url, want) {
  const end = Date.now() + scaled(3000);
  let last = '';
  while (Date.now() < end) {
    last = await whoAnswers(url);
    if (last === want) return last;
    await new Promise((r) => setTimeout(r, 5));
  }
  return last;
}

/** @param {Twin} twin @param {'a'|'b'} key */
const echoReady = (twin, key) => (twin.clusters[key].store.get('apps/deployments', 'echo', 'echo')?.status?.readyReplicas ?? 0) > 0;

test('the web-echo page is derived from the image tag', (t) => {
  t.is(imageTag('mcbtaguiad/web-echo:cluster-a'), 'cluster-a');
  t.is(imageTag('registry.local:5000/web-echo:blue_green-2@sha256:abc'), 'blue_green-2');
  t.is(imageTag('nginx'), 'latest');
  t.is(echoPage('mcbtaguiad/web-echo:cluster-a'),
    "<html>\n<!-- <h2>  </h2> -->\n<h3>Cluster A</h3>\n<p>Look at me Mom, I'm a DevOps.</p>\n");
  t.regex(echoPage('x/y:blue_green-2'), /<h3>Blue Green 2<\/h3>/);
});

test('global service, affinity local: local answers; scaled to 0 it fails over to the other cluster, and back', async (t) => {
  const { twin } = await world(t, '127.93');
  await bootMesh(twin, '127.93');
  deployEcho(twin, 'a');
  deployEcho(twin, 'b');
  await waitFor(() => meshState(twin).connected, 'mesh connected');
  await waitFor(() => echoReady(twin, 'a') && echoReady(twin, 'b'), 'echo ready');
  const urlA = await vip(twin, 'a');
  const urlB = await vip(twin, 'b');
  t.is(urlA, 'http://127.93.20.1:8080/');
  t.is(urlB, 'http://127.93.30.1:8080/');

  const r = await httpGet(urlA);
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'text/html');
  t.is(r.headers['x-twin-cluster'], 'cluster-a');
  t.is(r.body, echoPage('mcbtaguiad/web-echo:cluster-a'));
  t.is(await whoAnswers(urlB), 'Cluster B');

  scale(twin, 'b', 'echo', 'echo', 0);
  t.is(await until(urlB, 'Cluster A'), 'Cluster A', 'B has no local pod: served by cluster A');
  const failover = await httpGet(urlB);
  t.is(failover.headers['x-twin-cluster'], 'cluster-a');

  scale(twin, 'b', 'echo', 'echo', 1);
  t.is(await until(urlB, 'Cluster B'), 'Cluster B', 'local again once B is ready');
});

test('not global: no failover, the request fails', async (t) => {
  const { twin } = await world(t, '127.95');
  await bootMesh(twin, '127.95');
  deployEcho(twin, 'a', { annotations: {} });
  deployEcho(twin, 'b', { annotations: {} });
  await waitFor(() => meshState(twin).connected, 'mesh connected');
  await waitFor(() => echoReady(twin, 'a') && echoReady(twin, 'b'), 'echo ready');
  const urlB = await vip(twin, 'b');
  t.is(await whoAnswers(urlB), 'Cluster B');
  scale(twin, 'b', 'echo', 'echo', 0);
  t.is(await until(urlB, 'FAILED'), 'FAILED');
  await t.throwsAsync(httpGet(urlB), { message: /socket hang up|ECONNRESET/ }, 'the connection is reset, not refused');
});

test('shared: "false" keeps a cluster\'s endpoints out of the mesh; a mesh that is not connected gives no failover', async (t) => {
  const { twin } = await world(t, '127.96');
  await bootMesh(twin, '127.96');
  deployEcho(twin, 'a', { annotations: { 'service.cilium.io/global': 'true', 'service.cilium.io/shared': 'false' } });
  deployEcho(twin, 'b');
  await waitFor(() => meshState(twin).connected, 'mesh connected');
  await waitFor(() => echoReady(twin, 'a') && echoReady(twin, 'b'), 'echo ready');
  const urlA = await vip(twin, 'a');
  const urlB = await vip(twin, 'b');

  scale(twin, 'b', 'echo', 'echo', 0);
  t.is(await until(urlB, 'FAILED'), 'FAILED', 'A does not share its endpoints');
  scale(twin, 'a', 'echo', 'echo', 0);
  scale(twin, 'b', 'echo', 'echo', 1);
  t.is(await until(urlA, 'Cluster B'), 'Cluster B', 'A still imports B\'s shared endpoints');

  // Disconnect: B forgets A.
  const s = twin.clusters.b.store;
  const secret = /** @type {any} */ (s.get('/secrets', 'kube-system', 'cilium-clustermesh'));
  delete secret.data['cluster-a'];
  s.update('/secrets', secret);
  await waitFor(() => !meshState(twin).connected, 'mesh disconnected');
  t.is(await until(urlA, 'FAILED'), 'FAILED', 'no mesh, no remote endpoints');
});

test('affinity remote prefers the other cluster; unset affinity spreads; "none" drops remote backends on 1.18.10+', async (t) => {
  const { twin } = await world(t, '127.97');
  await bootMesh(twin, '127.97');
  deployEcho(twin, 'a', { annotations: { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'remote' } });
  deployEcho(twin, 'b', { annotations: { 'service.cilium.io/global': 'true' } });
  await waitFor(() => meshState(twin).connected, 'mesh connected');
  await waitFor(() => echoReady(twin, 'a') && echoReady(twin, 'b'), 'echo ready');
  const urlA = await vip(twin, 'a');
  const urlB = await vip(twin, 'b');

  t.is(await whoAnswers(urlA), 'Cluster B');
  t.is(await whoAnswers(urlA), 'Cluster B');
  const spread = new Set();
  for (let i = 0; i < 4; i++) spread.add(await whoAnswers(urlB));
  t.deepEqual([...spread].sort(), ['Cluster A', 'Cluster B'], 'no affinity: both clusters, round-robin');

  scale(twin, 'b', 'echo', 'echo', 0);
  t.is(await until(urlA, 'Cluster A'), 'Cluster A', 'remote affinity falls back to local');
  scale(twin, 'b', 'echo', 'echo', 1);
  t.is(await until(urlA, 'Cluster B'), 'Cluster B');

  const s = twin.clusters.b.store;
  const svc = /** @type {any} */ (s.get('/services', 'echo', 'echo'));
  svc.metadata.annotations['service.cilium.io/affinity'] = 'none';
  s.update('/services', svc);
  scale(twin, 'b', 'echo', 'echo', 0);
  t.is(await until(urlB, 'FAILED'), 'FAILED', 'cilium/cilium#46623: "none" drops the remote backends');
});

test('"none" behaves like no affinity before 1.18.10', async (t) => {
  const { twin } = await world(t, '127.98');
  await bootMesh(twin, '127.98', { versions: ['1.18.9', '1.18.9'] });
  deployEcho(twin, 'a', { annotations: { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'none' } });
  deployEcho(twin, 'b', { replicas: 0 });
  await waitFor(() => meshState(twin).connected, 'mesh connected');
  await waitFor(() => echoReady(twin, 'a'), 'echo ready');
  const urlB = await vip(twin, 'b');
  t.is(await until(urlB, 'Cluster A'), 'Cluster A');
  scale(twin, 'a', 'echo', 'echo', 0);
  scale(twin, 'b', 'echo', 'echo', 1);
  const urlA = await vip(twin, 'a');
  t.is(await until(urlA, 'Cluster B'), 'Cluster B', 'remote backends kept with "none" on 1.18.9');
});
