// @ts-check
// The real backend's first piece: etcd and kube-apiserver built from Go
// modules (npm run build:real), one cluster on loopback, and the real kubectl
// against it through a K3s-style kubeconfig. Skipped, saying so, when the
// binaries are not built.
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { adminGet } from '../../tools/real-backend/apiserver.mjs';
import { k3sVersion } from '../../tools/build-real.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { scaled } from '../support/time.mjs';

const { bins, missing } = clusterBinaries();
const { real, k, cluster } = realBackend(missing, (dir) => startCluster({ dir, readyMs: scaled(120_000), removeDir: true }));

real('the apiserver reports itself as K3s does, at the built version', async (t) => {
  const r = await k(['version', '-o', 'json']);
  t.is(r.code, 0, r.stderr);
  t.is(JSON.parse(r.stdout).serverVersion.gitVersion, k3sVersion(bins.apiserver.version));
});

real('kubectl lists the namespaces a new cluster has, authenticated by its client certificate', async (t) => {
  const r = await k(['get', 'ns', '-o', 'name']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n').sort(), ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
});

real('kubectl apply creates a namespace once, then leaves it unchanged', async (t) => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cilium-test\n  labels:\n    app: runbook\n';
  const first = await k(['apply', '-f', '-'], ns);
  t.is(first.code, 0, first.stderr);
  t.is(first.stdout.trim(), 'namespace/cilium-test created');
  const again = await k(['apply', '-f', '-'], ns);
  t.is(again.stdout.trim(), 'namespace/cilium-test unchanged');
  const got = await k(['get', 'ns', 'cilium-test', '-o', 'jsonpath={.metadata.labels.app} {.status.phase}']);
  t.is(got.stdout, 'runbook Active');
});

real('without a client certificate the apiserver answers 401, anonymous access being off', async (t) => {
  const c = cluster();
  const r = await adminGet(c.server, { ...c.pki, clientCert: '', clientKey: '' }, '/api');
  t.is(r.status, 401);
  t.is((await adminGet(c.server, c.pki, '/api')).status, 200);
});

real('etcd and kube-apiserver run, both on loopback addresses', (t) => {
  const c = cluster();
  t.regex(c.server, /^https:\/\/127\.\d+\.\d+\.\d+:\d+$/);
  t.regex(c.etcdUrl, /^http:\/\/127\.\d+\.\d+\.\d+:\d+$/);
  t.deepEqual(c.procs.map((p) => [p.name, p.alive()]), [['etcd', true], ['kube-apiserver', true]]);
});
