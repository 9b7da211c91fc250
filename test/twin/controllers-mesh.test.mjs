// @ts-check
// meshState: the rules for two clusters being connected, with who answers on
// an IP:port given explicitly (the data plane tests cover real listeners).
import test from 'ava';
import { meshState, configuredRemotes } from '../../twin/controllers/index.mjs';
import { configureRemote, fakeTwin } from '../../twin/controllers/testkit.mjs';

/** @typedef {import('../../twin/types.js').Twin} Twin */
/** @typedef {import('../../twin/types.js').TwinKey} TwinKey */

/**
 * Two clusters with Cilium's config and CA, as Helm leaves them.
 * @param {{ names?: [string, string], ids?: [number, number], cas?: [string, string] }} [o]
 */
function meshTwin(o = {}) {
  const twin = fakeTwin();
  const names = o.names ?? ['cluster-a', 'cluster-b'];
  const ids = o.ids ?? [1, 2];
  const cas = o.cas ?? ['CA-PEM', 'CA-PEM'];
  /** @type {TwinKey[]} */ (['a', 'b']).forEach((k, i) => {
    const s = twin.clusters[k].store;
    s.create('/configmaps', {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cilium-config', namespace: 'kube-system' },
      data: { 'cluster-name': names[i], 'cluster-id': String(ids[i]) },
    });
    s.create('/secrets', {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cilium-ca', namespace: 'kube-system' },
      data: { 'ca.crt': Buffer.from(cas[i]).toString('base64'), 'ca.key': Buffer.from('k').toString('base64') },
    });
  });
  return twin;
}

/** @param {Record<string, TwinKey>} map "ip:port" -> cluster */
const served = (map) => (/** @type {string} */ ip, /** @type {number} */ port) => map[`${ip}:${port}`];

test('connected when both are configured for each other and each endpoint answers as the other cluster', (t) => {
  const twin = meshTwin();
  configureRemote(twin, 'a', 'cluster-b', '127.92.0.2:2379');
  configureRemote(twin, 'b', 'cluster-a', '127.92.0.1:2379');
  const st = meshState(twin, { servedBy: served({ '127.92.0.1:2379': 'a', '127.92.0.2:2379': 'b' }) });
  t.true(st.connected);
  t.deepEqual(st.reasons, []);
  t.like(st.clusters.a, { name: 'cluster-a', id: 1, configured: true, connected: true, reachedCluster: 'b', endpoint: 'https://127.92.0.2:2379' });
  t.deepEqual(st.clusters.a.remotes, ['cluster-b']);
  t.deepEqual(configuredRemotes(twin.clusters.b.store), [{ name: 'cluster-a', endpoint: 'https://127.92.0.1:2379' }]);
});

test('one direction configured only (unicast) is not a connected mesh', (t) => {
  const twin = meshTwin();
  configureRemote(twin, 'a', 'cluster-b', '127.92.0.2:2379');
  const st = meshState(twin, { servedBy: served({ '127.92.0.1:2379': 'a', '127.92.0.2:2379': 'b' }) });
  t.false(st.connected);
  t.true(st.clusters.a.connected);
  t.false(st.clusters.b.connected);
  t.deepEqual(st.reasons, ['cluster cluster-b is not configured to connect to cluster cluster-a']);
});

test('both clustermesh-apiservers on the same IP: the article\'s "remote cluster configuration required but not found"', (t) => {
  const twin = meshTwin();
  configureRemote(twin, 'a', 'cluster-b', '127.92.0.1:2379');
  configureRemote(twin, 'b', 'cluster-a', '127.92.0.1:2379');
  const st = meshState(twin, { servedBy: served({ '127.92.0.1:2379': 'a' }) });
  t.false(st.connected);
  t.false(st.clusters.a.connected);
  t.is(st.clusters.a.reachedCluster, 'a', 'cluster a reaches itself');
  t.deepEqual(st.reasons, ['cluster-a is not connected to cluster cluster-b: remote cluster configuration required but not found']);
  t.true(st.clusters.b.connected);
});

test('CA mismatch: not connected, with the CLI\'s and the agent\'s words', (t) => {
  const twin = meshTwin({ cas: ['CA-ONE', 'CA-TWO'] });
  configureRemote(twin, 'a', 'cluster-b', '127.92.0.2:2379');
  configureRemote(twin, 'b', 'cluster-a', '127.92.0.1:2379');
  const st = meshState(twin, { servedBy: served({ '127.92.0.1:2379': 'a', '127.92.0.2:2379': 'b' }) });
  t.false(st.connected);
  t.true(st.reasons.includes('Cilium CA certificates do not match between clusters cluster-a and cluster-b'));
  t.true(st.reasons.some((r) => r.endsWith('x509: certificate signed by unknown authority')));
  t.not(st.clusters.a.caFingerprint, st.clusters.b.caFingerprint);
  t.regex(String(st.clusters.a.caFingerprint), /^[0-9a-f]{64}$/);
});

test('an endpoint nobody answers on: connection refused', (t) => {
  const twin = meshTwin();
  configureRemote(twin, 'a', 'cluster-b', '127.92.0.2:2379');
  configureRemote(twin, 'b', 'cluster-a', '127.92.0.1:2379');
  const st = meshState(twin, { servedBy: served({ '127.92.0.1:2379': 'a' }) });
  t.false(st.connected);
  t.deepEqual(st.reasons, ['cluster-a is not connected to cluster cluster-b: dial tcp 127.92.0.2:2379: connect: connection refused']);
});

test('names and ids must be distinct and valid', (t) => {
  for (const [o, reason] of /** @type {Array<[Parameters<typeof meshTwin>[0], string]>} */ ([
    [{ ids: [1, 1] }, 'remote and local cluster have the same, non-unique ID'],
    [{ ids: [0, 2] }, 'cluster cluster-a has cluster ID 0 out of acceptable range (1-255)'],
    [{ names: ['default', 'cluster-b'] }, 'cluster default has the default name'],
  ])) {
    const twin = meshTwin(o);
    const names = o?.names ?? ['cluster-a', 'cluster-b'];
    configureRemote(twin, 'a', names[1], '127.92.0.2:2379');
    configureRemote(twin, 'b', names[0], '127.92.0.1:2379');
    const st = meshState(twin, { servedBy: served({ '127.92.0.1:2379': 'a', '127.92.0.2:2379': 'b' }) });
    t.false(st.connected, reason);
    t.true(st.reasons.includes(reason), `${reason} in ${JSON.stringify(st.reasons)}`);
  }
});

test('a host name endpoint resolves through the cilium DaemonSet hostAliases, as the chart renders it', (t) => {
  const twin = meshTwin();
  for (const [k, remote, ip] of /** @type {Array<[TwinKey, string, string]>} */ ([['a', 'cluster-b', '127.92.0.2'], ['b', 'cluster-a', '127.92.0.1']])) {
    const s = twin.clusters[k].store;
    s.create('/secrets', {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cilium-clustermesh', namespace: 'kube-system' },
      data: {
        [remote]: Buffer.from(`endpoints:\n- https://${remote}.mesh.cilium.io:2379\ntrusted-ca-file: /var/lib/cilium/clustermesh/common-etcd-client-ca.crt\n`).toString('base64'),
        [`${remote}.etcd-client.crt`]: Buffer.from('CERT').toString('base64'),
      },
    });
    s.create('apps/daemonsets', {
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'cilium', namespace: 'kube-system' },
      spec: { template: { spec: { hostAliases: [{ ip, hostnames: [`${remote}.mesh.cilium.io`] }], containers: [] } } },
    });
  }
  const st = meshState(twin, { servedBy: served({ '127.92.0.1:2379': 'a', '127.92.0.2:2379': 'b' }) });
  t.true(st.connected, JSON.stringify(st.reasons));
  t.deepEqual(st.clusters.a.remotes, ['cluster-b'], 'certificate keys are not remotes');
});

test('Cilium missing in a cluster', (t) => {
  const twin = fakeTwin();
  const st = meshState(twin, { servedBy: () => undefined });
  t.false(st.connected);
  t.true(st.reasons.includes('Cilium is not installed in cluster cluster-a'));
  t.false(st.clusters.a.installed);
});
