// @ts-check
// Faults of the API server (transient errors, latency, a stopped server) as
// kubectl sees them, and the request counters and log the other tests rely on.
import test from 'ava';
import { twinForTest, apiRequest } from '../support/twin-harness.mjs';

test('errorRate 1 makes a get fail; errorRate 0 heals it', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  t.is((await kubectl(['get', 'ns', 'default', '-o', 'name'])).code, 0, 'discovery cached while healthy');
  a.server.faults.errorRate = 1;
  const r = await kubectl(['get', 'ns', 'default', '-o', 'name']);
  t.is(r.code, 1);
  t.regex(r.stderr, /Internal error occurred: injected fault|EOF|connection reset/);
  const log = a.server.requests();
  t.true(log.some((e) => e.fault === 'error' && e.status === 500));
  a.server.faults.errorRate = 0;
  const ok = await kubectl(['get', 'ns', 'default', '-o', 'name']);
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.stdout.trim(), 'namespace/default');
});

test('half of the injected faults are 500 InternalError Status, half dropped connections', async (t) => {
  const { a } = await twinForTest(t, { faults: { errorRate: 1 } });
  let status500 = 0;
  let dropped = 0;
  for (let i = 0; i < 6; i++) {
    try {
      const r = await apiRequest(a, 'GET', '/api/v1/namespaces');
      t.like(r.json, { kind: 'Status', status: 'Failure', reason: 'InternalError', code: 500 });
      status500++;
    } catch (e) {
      t.regex(String(/** @type {Error} */ (e).message), /socket hang up|ECONNRESET/);
      dropped++;
    }
  }
  t.deepEqual([status500, dropped], [3, 3]);
  t.is(a.server.stats().requests, 6);
});

test('a stopped server refuses connections with kubectl\'s message and works again after start()', async (t) => {
  const { kubectl, a } = await twinForTest(t);
  const port = a.server.port;
  t.is((await kubectl(['get', 'ns', '-o', 'name'])).code, 0);
  await a.server.stop();
  t.false(a.server.running);
  const r = await kubectl(['get', 'ns', '-o', 'name']);
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`The connection to the server 127\\.0\\.0\\.1:${port} was refused - did you specify the right host or port\\?`));
  await a.server.start();
  t.is(a.server.port, port);
  t.is(a.server.url, `https://127.0.0.1:${port}`);
  const ok = await kubectl(['get', 'ns', 'kube-system', '-o', 'name']);
  t.is(ok.code, 0, ok.stderr);
  // The other cluster never noticed.
  t.is((await kubectl(['--context', 'cluster-b', 'get', 'ns', 'default', '-o', 'name'])).code, 0);
});

test('latencyMs delays every request', async (t) => {
  const { a } = await twinForTest(t);
  a.server.faults.latencyMs = 250;
  const started = Date.now();
  const r = await apiRequest(a, 'GET', '/version');
  t.is(r.status, 200);
  t.true(Date.now() - started >= 250);
  a.server.faults.latencyMs = 0;
});

test('stats count requests, reads, writes and dry runs precisely; the request log keeps the last ones', async (t) => {
  const { a } = await twinForTest(t);
  a.server.resetStats();
  a.server.clearRequests();
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } };
  await apiRequest(a, 'GET', '/api/v1/namespaces/default/configmaps');
  await apiRequest(a, 'POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: cm });
  await apiRequest(a, 'POST', '/api/v1/namespaces/default/configmaps', { body: cm });
  await apiRequest(a, 'POST', '/api/v1/namespaces/default/configmaps', { body: cm }); // AlreadyExists: still a write request
  await apiRequest(a, 'PATCH', '/api/v1/namespaces/default/configmaps/c', { body: { data: { a: '1' } }, contentType: 'application/merge-patch+json' });
  await apiRequest(a, 'DELETE', '/api/v1/namespaces/default/configmaps/c', { body: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] } });
  await apiRequest(a, 'DELETE', '/api/v1/namespaces/default/configmaps/c');
  await apiRequest(a, 'GET', '/api/v1/namespaces', { cert: false });
  t.deepEqual(a.server.stats(), { requests: 8, reads: 2, writes: 4, dryRuns: 2, byMethod: { GET: 2, POST: 3, PATCH: 1, DELETE: 2 } });
  t.deepEqual(a.server.requests().map((e) => `${e.method} ${e.status}`), ['GET 200', 'POST 201', 'POST 201', 'POST 409', 'PATCH 200', 'DELETE 200', 'DELETE 200', 'GET 401']);
  t.is(a.store.get('/configmaps', 'default', 'c'), undefined);
  for (let i = 0; i < 520; i++) await apiRequest(a, 'GET', '/healthz');
  t.is(a.server.requests().length, 500);
});
