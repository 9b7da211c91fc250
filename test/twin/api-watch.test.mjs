// @ts-check
// Watches: kubectl's rollout status and wait (list+watch in 1.33, watch-list
// with the initial-events bookmark in 1.35 and with the WatchListClient
// feature), and the watch protocol itself.
import test from 'ava';
import {
  twinForTest, markDeploymentReady, openWatch, apiRequest, sleep, waitFor,
} from '../support/twin-harness.mjs';
import { scaled, scaledSeconds } from '../support/time.mjs';

/** @typedef {import('../../twin/server/types.js').RunningTwinCluster} Cluster */

/** @param {{ query: string }} q */
const isWatch = (q) => q.query.includes('watch=true');

/**
 * Runs fn once a client (kubectl) has a watch open on the cluster: a change made
 * then can only reach the client through its watch, however slow the machine.
 * @template T @param {Cluster} c @param {() => T} fn
 */
const onceWatched = (c, fn) => waitFor(() => c.server.inFlight().some(isWatch), { timeoutMs: 20_000, what: "kubectl's watch" }).then(fn);

const app = JSON.stringify({
  apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'echo' } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo', namespace: 'echo' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'echo' } }, template: { metadata: { labels: { app: 'echo' } }, spec: { containers: [{ name: 'echo', image: 'ealen/echo-server:0.9.2' }] } } },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'echo' }, spec: { type: 'LoadBalancer', selector: { app: 'echo' }, ports: [{ port: 80 }] } },
  ],
});

for (const watchList of [false, true]) {
  test(`rollout status waits for the controller's status and ends${watchList ? ' (watch-list client)' : ''}`, async (t) => {
    const { kubectl, a } = await twinForTest(t);
    t.is((await kubectl(['apply', '-f', '-'], { input: app })).code, 0);
    const env = watchList ? { KUBE_FEATURE_WatchListClient: 'true' } : {};
    a.server.clearRequests();
    // The controller answers once kubectl watches: the rollout must end through the watch.
    const ready = onceWatched(a, () => markDeploymentReady(a, 'echo', 'echo'));
    const r = await kubectl(['rollout', 'status', 'deployment/echo', '-n', 'echo', `--timeout=${scaledSeconds(30)}`], { env });
    await ready;
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, 'Waiting for deployment spec update to be observed...\ndeployment "echo" successfully rolled out\n');
    // kubectl may be gone before the server sees the watch close: look at open requests too.
    const watch = [...a.server.requests(), ...a.server.inFlight()].find(isWatch);
    t.truthy(watch);
    t.is(watch?.query.includes('sendInitialEvents=true'), watchList);
  });
}

test('rollout status of a DaemonSet relies on the defaulted updateStrategy', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  const ds = {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'kube-system' },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'busybox:1.36' }] } } },
  };
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(ds) })).code, 0);
  t.like(a.store.get('apps/daemonsets', 'kube-system', 'agent')?.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  const ready = onceWatched(a, () => {
    const o = a.store.get('apps/daemonsets', 'kube-system', 'agent');
    if (!o) throw new Error('gone');
    o.status = { observedGeneration: 1, desiredNumberScheduled: 3, currentNumberScheduled: 3, updatedNumberScheduled: 3, numberReady: 3, numberAvailable: 3, numberMisscheduled: 0 };
    a.store.update('apps/daemonsets', o);
  });
  const r = await kubectl(['rollout', 'status', 'ds/agent', '-n', 'kube-system', `--timeout=${scaledSeconds(30)}`]);
  await ready;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /daemon set "agent" successfully rolled out/);
});

test('rollout status times out with kubectl\'s message', async (t) => {
  const { kubectl } = await twinForTest(t);
  t.is((await kubectl(['apply', '-f', '-'], { input: app })).code, 0);
  const r = await kubectl(['rollout', 'status', 'deployment/echo', '-n', 'echo', '--timeout=1s']);
  t.is(r.code, 1);
  t.is(r.stderr.trim(), 'error: timed out waiting for the condition');
});

test('wait --for=jsonpath on a Service LoadBalancer IP set later', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  t.is((await kubectl(['apply', '-f', '-'], { input: app })).code, 0);
  const assign = onceWatched(a, () => {
    const s = a.store.get('/services', 'echo', 'echo');
    if (!s) throw new Error('gone');
    s.status = { loadBalancer: { ingress: [{ ip: '127.0.0.5', ipMode: 'VIP' }] } };
    a.store.update('/services', s);
  });
  const r = await kubectl(['wait', "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=127.0.0.5", 'svc/echo', '-n', 'echo', `--timeout=${scaledSeconds(30)}`]);
  await assign;
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), 'service/echo condition met');
  const w2 = await kubectl(['wait', '--for=condition=Available', 'deploy/echo', '-n', 'echo', '--timeout=1s'], { env: { KUBE_FEATURE_WatchListClient: 'true' } });
  t.is(w2.code, 1, 'not available: nobody marked it');
  t.is(w2.stderr.trim(), 'error: timed out waiting for the condition on deployments/echo');
  const svc = await kubectl(['get', 'svc', 'echo', '-n', 'echo']);
  t.regex(svc.stdout, /echo\s+LoadBalancer\s+10\.(9[6-9]|10\d|11[01])\.\d+\.\d+\s+127\.0\.0\.5\s+80:3\d{4}\/TCP/);
});

test('watch protocol: initial events and their bookmark, resume from a resourceVersion, selectors, 410, timeout', async (t) => {
  const { a } = await twinForTest(t);
  const CM = '/api/v1/namespaces/default/configmaps';
  const mk = (/** @type {string} */ name, /** @type {Record<string,string>} */ labels) =>
    a.store.create('/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data: {} });
  mk('one', { app: 'x' });
  mk('two', { app: 'y' });

  const wl = await openWatch(a, `${CM}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=app%3Dx`);
  t.is(wl.status, 200);
  const e1 = await wl.next();
  t.is(e1?.type, 'ADDED');
  t.is(e1?.object.metadata.name, 'one');
  t.is(e1?.object.apiVersion, 'v1');
  t.is(e1?.object.kind, 'ConfigMap');
  const bm = await wl.next();
  t.is(bm?.type, 'BOOKMARK');
  t.is(bm?.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
  t.is(bm?.object.metadata.resourceVersion, String(a.store.rv));
  // Leaving the selector is a DELETED, entering it an ADDED.
  const two = a.store.get('/configmaps', 'default', 'two');
  if (!two) throw new Error('two');
  two.metadata.labels = { app: 'x' };
  a.store.update('/configmaps', two);
  t.like(await wl.next(), { type: 'ADDED', object: { metadata: { name: 'two' } } });
  const one = a.store.get('/configmaps', 'default', 'one');
  if (!one) throw new Error('one');
  one.metadata.labels = { app: 'z' };
  a.store.update('/configmaps', one);
  t.like(await wl.next(), { type: 'DELETED', object: { metadata: { name: 'one' } } });
  wl.close();

  // Resume: events after the given resourceVersion are replayed.
  const list = await apiRequest(a, 'GET', CM);
  const rv = list.json.metadata.resourceVersion;
  mk('three', { app: 'x' });
  a.store.delete('/configmaps', 'default', 'three');
  const resumed = await openWatch(a, `${CM}?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dthree`);
  t.like(await resumed.next(), { type: 'ADDED', object: { metadata: { name: 'three' } } });
  t.like(await resumed.next(), { type: 'DELETED', object: { metadata: { name: 'three' } } });
  resumed.close();

  // No resourceVersion: synthetic ADDED for what exists, then live events; timeoutSeconds ends the
  // stream (the server does: the test never closes it), with nothing more sent.
  const plain = await openWatch(a, `${CM}?watch=true&timeoutSeconds=1`);
  const initial = [await plain.next(), await plain.next()];
  const ended = await Promise.race([plain.ended.then(() => true), sleep(scaled(10_000)).then(() => false)]);
  t.true(ended, 'timeoutSeconds=1 ended the watch');
  initial.push(...await plain.collect(0));
  t.deepEqual(initial.map((e) => `${e?.type} ${e?.object.metadata.name}`), ['ADDED one', 'ADDED two']);

  const tooOld = await openWatch(a, `${CM}?watch=true&resourceVersion=0`);
  tooOld.close();
  a.server.clearRequests();
  const hub = await openWatch(a, `${CM}?watch=true&resourceVersion=1`);
  const err = await hub.next();
  t.is(err?.type, 'ERROR');
  t.like(err?.object, { kind: 'Status', code: 410, reason: 'Expired' });
  await sleep(10);
});

test('open watches end when the server stops', async (t) => {
  const { a } = await twinForTest(t);
  const w = await openWatch(a, '/api/v1/namespaces?watch=true');
  await w.collect(100);
  await a.server.stop();
  await w.ended;
  await a.server.start();
  t.pass();
});

test('kubectl get -w prints Table rows for watched changes', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  // Created once kubectl watches (so it comes through the watch, not the first list); the watch request ends the run.
  const add = onceWatched(a, () => a.store.create('/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' }, status: { phase: 'Active' } }));
  const r = await kubectl(['get', 'ns', '-w', `--request-timeout=${scaledSeconds(2)}`], { timeoutMs: 20_000 });
  await add;
  const lines = r.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
  t.deepEqual(lines[0], ['NAME', 'STATUS', 'AGE']);
  t.deepEqual(lines[lines.length - 1].slice(0, 2), ['late', 'Active']);
});
