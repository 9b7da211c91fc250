// @ts-check
// The manifests the runbook applies, built from a Config: the article's values
// (env.example) give the article's objects with its mistakes corrected, and a
// config in which every value differs shows that nothing is hard-coded.
import test from 'ava';
import YAML from 'yaml';
import { ciliumValues, Manifest, MESH_POOL, APP_POOL, L2_POLICY } from '../../scripts/lib/manifests.mjs';
import { echoApp } from '../../scripts/08-deploy-echo.mjs';
import { meshPool } from '../../scripts/04-mesh-pools.mjs';
import { appPool } from '../../scripts/05-app-pools.mjs';
import { articleConfig, otherConfig, makeConfig } from '../support/config-fixture.mjs';

/** @typedef {import('../../scripts/lib/types.js').Config} Config */

const article = articleConfig();
const other = otherConfig();

/** The rendered YAML parsed as YAML 1.1, as kubectl and Helm read it. @param {Manifest} m */
const docs = (m) => YAML.parseAllDocuments(m.yaml, { version: '1.1' }).map((d) => {
  if (d.errors.length) throw d.errors[0];
  return d.toJS();
}).filter((o) => o != null);

/** @param {Manifest} m @param {string} kind */
const ofKind = (m, kind) => {
  const found = docs(m).filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in ${m.name}, found ${found.length}`);
  return found[0];
};

test('Cilium values for cluster A: the article\'s settings, corrected', (t) => {
  const m = ciliumValues(article, article.a);
  t.is(m.name, 'cilium-values-cluster-a.yaml');
  const [v, ...rest] = docs(m);
  t.is(rest.length, 0, 'one document');
  t.deepEqual(v, {
    cluster: { name: 'cluster-a', id: 1 },
    kubeProxyReplacement: true,
    k8sServiceHost: '192.168.254.10',
    k8sServicePort: 6443,
    ipam: { mode: 'cluster-pool', operator: { clusterPoolIPv4PodCIDRList: ['10.42.0.0/16'] } },
    l2announcements: { enabled: true },
    hubble: {
      enabled: true,
      relay: { enabled: true },
      ui: { enabled: true },
      metrics: { enabled: ['dns', 'drop', 'tcp', 'flow', 'port-distribution', 'icmp', 'http'] },
    },
  });
  t.deepEqual(m.objects, [v], 'Manifest.objects is what the YAML says');
});

test('Cilium values for cluster B differ from A only in name, id, pod CIDR and API server', (t) => {
  const a = docs(ciliumValues(article, article.a))[0];
  const b = docs(ciliumValues(article, article.b))[0];
  t.is(ciliumValues(article, article.b).name, 'cilium-values-cluster-b.yaml');
  t.deepEqual(b.cluster, { name: 'cluster-b', id: 2 });
  t.deepEqual(b.ipam.operator.clusterPoolIPv4PodCIDRList, ['10.43.0.0/16']);
  t.is(b.k8sServiceHost, '192.168.254.11');
  t.is(b.k8sServicePort, 6443);
  t.deepEqual({ ...b, cluster: a.cluster, ipam: a.ipam, k8sServiceHost: a.k8sServiceHost }, a);
});

test('the pod CIDR key is the list the 1.19 chart reads, never the article\'s clusterPoolIPv4PodCIDR', (t) => {
  for (const c of article.clusters) {
    const m = ciliumValues(article, c);
    const v = docs(m)[0];
    t.deepEqual(Object.keys(v.ipam.operator), ['clusterPoolIPv4PodCIDRList']);
    t.false(/^\s*clusterPoolIPv4PodCIDR\s*:/m.test(m.yaml), 'no clusterPoolIPv4PodCIDR key anywhere');
    t.false(Object.hasOwn(v, 'clusterPoolIPv4PodCIDR'));
    t.true(Array.isArray(v.ipam.operator.clusterPoolIPv4PodCIDRList));
    t.is(typeof v.kubeProxyReplacement, 'boolean', 'kubeProxyReplacement is the boolean true, not a string');
    t.is(typeof v.cluster.id, 'number');
    t.is(typeof v.k8sServicePort, 'number');
  }
});

test('the Hubble switches and metrics follow the config', (t) => {
  const v = docs(ciliumValues(other, other.a))[0];
  t.deepEqual(v.hubble, {
    enabled: true, relay: { enabled: false }, ui: { enabled: false },
    metrics: { enabled: ['drop', 'flow:sourceContext=pod'] },
  });
  const none = makeConfig({ HUBBLE_METRICS: '' });
  t.deepEqual(docs(ciliumValues(none, none.a))[0].hubble.metrics, { enabled: [] }, 'no metrics: an empty list');
});

test('the ClusterMesh pool: one address, only the clustermesh-apiserver Service, cilium.io/v2', (t) => {
  for (const c of article.clusters) {
    const m = meshPool(c);
    t.is(m.name, `mesh-pool-${c.context}.yaml`);
    const all = docs(m);
    t.is(all.length, 2);
    const pool = ofKind(m, 'CiliumLoadBalancerIPPool');
    t.deepEqual(pool, {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: { name: MESH_POOL },
      spec: {
        blocks: [{ start: c.meshIp, stop: c.meshIp }],
        serviceSelector: {
          matchLabels: {
            'io.kubernetes.service.namespace': 'kube-system',
            'io.kubernetes.service.name': 'clustermesh-apiserver',
          },
        },
      },
    });
  }
  t.is(ofKind(meshPool(article.a), 'CiliumLoadBalancerIPPool').spec.blocks[0].start, '192.168.254.220');
  t.is(ofKind(meshPool(article.b), 'CiliumLoadBalancerIPPool').spec.blocks[0].start, '192.168.254.221');
  t.is(MESH_POOL, 'cluster-pool');
});

test('the L2 announcement policy: cilium.io/v2alpha1, LoadBalancer and external IPs', (t) => {
  const policy = ofKind(meshPool(article.a), 'CiliumL2AnnouncementPolicy');
  t.deepEqual(policy, {
    apiVersion: 'cilium.io/v2alpha1',
    kind: 'CiliumL2AnnouncementPolicy',
    metadata: { name: L2_POLICY },
    spec: { loadBalancerIPs: true, externalIPs: true },
  });
});

test('the app pools: the configured range, for Services labelled lb-pool: app', (t) => {
  /** @type {Array<[import('../../scripts/lib/types.js').ClusterConfig, string, string]>} */
  const expected = [[article.a, '192.168.254.230', '192.168.254.239'], [article.b, '192.168.254.240', '192.168.254.249']];
  for (const [c, start, stop] of expected) {
    const m = appPool(c);
    t.is(m.name, `app-pool-${c.context}.yaml`);
    const all = docs(m);
    t.is(all.length, 1);
    t.deepEqual(all[0], {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumLoadBalancerIPPool',
      metadata: { name: APP_POOL },
      spec: { blocks: [{ start, stop }], serviceSelector: { matchLabels: { 'lb-pool': 'app' } } },
    });
  }
});

test('echo for each cluster: Namespace, Deployment and global Service, all in the echo namespace', (t) => {
  for (const c of article.clusters) {
    const m = echoApp(article, c);
    t.is(m.name, `echo-${c.context}.yaml`);
    const all = docs(m);
    t.deepEqual(all.map((o) => o.kind), ['Namespace', 'Deployment', 'Service']);
    t.deepEqual(m.objects, all);

    t.deepEqual(all[0], { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'echo' } });

    const d = all[1];
    t.is(d.apiVersion, 'apps/v1');
    t.deepEqual(d.metadata, { name: 'echo', namespace: 'echo', labels: { app: 'echo' } });
    t.is(d.spec.replicas, 1);
    t.deepEqual(d.spec.selector, { matchLabels: { app: 'echo' } });
    t.deepEqual(d.spec.template.metadata.labels, { app: 'echo' });
    t.is(d.spec.template.spec.containers.length, 1);
    t.is(d.spec.template.spec.containers[0].image, c.echoImage);
    t.is(d.spec.template.spec.containers[0].image, `mcbtaguiad/web-echo:${c.context}`);
    t.deepEqual(d.spec.template.spec.containers[0].ports, [{ containerPort: 80 }]);

    const s = all[2];
    t.is(s.apiVersion, 'v1');
    t.is(s.metadata.name, 'echo');
    t.is(s.metadata.namespace, 'echo', 'the article leaves the namespace out: the Service would land in default');
    t.deepEqual(s.metadata.labels, { 'lb-pool': 'app' });
    t.deepEqual(s.metadata.annotations, { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'local' });
    t.is(typeof s.metadata.annotations['service.cilium.io/global'], 'string', 'an annotation value must be a string');
    t.is(s.spec.type, 'LoadBalancer');
    t.is(s.spec.loadBalancerClass, 'io.cilium/l2-announcer');
    t.deepEqual(s.spec.selector, { app: 'echo' });
    t.deepEqual(s.spec.ports, [{ port: 80, targetPort: 80 }]);
  }
});

test('echo manifests of the two clusters differ only in the image', (t) => {
  const a = docs(echoApp(article, article.a));
  const b = docs(echoApp(article, article.b));
  b[1].spec.template.spec.containers[0].image = a[1].spec.template.spec.containers[0].image;
  t.deepEqual(a, b);
});

test('the echo manifest has its three documents separated by exactly one --- each', (t) => {
  const { yaml } = echoApp(article, article.a);
  t.is(yaml.split('\n').filter((l) => /^---\s*$/.test(l)).length, 2, yaml);
  t.notRegex(yaml, /---\s*\n(\s*#.*\n|\s*\n)*\s*---/);
  t.false(yaml.startsWith('---'));
});

test('the affinity annotation: local and remote as given, absent when empty', (t) => {
  /** @param {Config} config */
  const annotations = (config) => ofKind(echoApp(config, config.a), 'Service').metadata.annotations;
  t.deepEqual(annotations(makeConfig({ ECHO_AFFINITY: 'local' })),
    { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'local' });
  t.deepEqual(annotations(makeConfig({ ECHO_AFFINITY: 'remote' })),
    { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'remote' });
  const empty = makeConfig({ ECHO_AFFINITY: '' });
  t.deepEqual(annotations(empty), { 'service.cilium.io/global': 'true' });
  t.false(echoApp(empty, empty.a).yaml.includes('service.cilium.io/affinity:'), 'no affinity key in the YAML at all');
});

test('a config where every value differs: its values everywhere', (t) => {
  const va = docs(ciliumValues(other, other.a))[0];
  t.deepEqual(va.cluster, { name: 'east-mesh', id: 17 });
  t.is(va.k8sServiceHost, '172.16.5.10');
  t.is(va.k8sServicePort, 16443);
  t.deepEqual(va.ipam.operator.clusterPoolIPv4PodCIDRList, ['10.128.0.0/16']);
  const vb = docs(ciliumValues(other, other.b))[0];
  t.deepEqual(vb.cluster, { name: 'west-mesh', id: 42 });
  t.is(vb.k8sServicePort, 16444);
  t.is(ciliumValues(other, other.b).name, 'cilium-values-lab-west.yaml');

  // other's MESH_SERVICE_TYPE is NodePort, which uses no mesh IP (and step 04 applies no mesh pool).
  t.is(other.b.meshIp, '');
  const lb = otherConfig({ MESH_SERVICE_TYPE: 'LoadBalancer' });
  t.deepEqual(ofKind(meshPool(lb.b), 'CiliumLoadBalancerIPPool').spec.blocks, [{ start: '172.16.9.21', stop: '172.16.9.21' }]);
  t.deepEqual(docs(appPool(other.a))[0].spec.blocks, [{ start: '172.16.9.100', stop: '172.16.9.109' }]);

  const [ns, d, s] = docs(echoApp(other, other.b));
  t.is(ns.metadata.name, 'demo-failover');
  t.deepEqual(d.metadata, { name: 'hello', namespace: 'demo-failover', labels: { app: 'hello' } });
  t.is(d.spec.replicas, 3);
  t.deepEqual(d.spec.selector.matchLabels, { app: 'hello' });
  t.is(d.spec.template.spec.containers[0].image, 'registry.example.org/team/hello:west');
  t.deepEqual(d.spec.template.spec.containers[0].ports, [{ containerPort: 5678 }]);
  t.deepEqual(s.metadata, {
    name: 'hello', namespace: 'demo-failover', labels: { 'lb-pool': 'app' },
    annotations: { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'remote' },
  });
  t.deepEqual(s.spec.selector, { app: 'hello' });
  t.deepEqual(s.spec.ports, [{ port: 8080, targetPort: 5678 }]);
});

/** Every leaf of a parsed object, with its path. @param {any} o @param {string} [path] @returns {Array<[string, any]>} */
function leaves(o, path = '') {
  if (o && typeof o === 'object') {
    return Object.entries(o).flatMap(([k, v]) => [[`${path}.${k}#key`, k], ...leaves(v, `${path}.${k}`)]);
  }
  return [[path, o]];
}

test('a config where every value differs: no article value leaks into any manifest', (t) => {
  const manifests = other.clusters.flatMap((c) => [ciliumValues(other, c), meshPool(c), appPool(c), echoApp(other, c)]);
  // Distinctive article strings: never anywhere in the text, comments included.
  const articleText = [
    'cluster-a', 'cluster-b', '192.168.254.', '10.42.0.0', '10.43.0.0', '10.96.0.0', '10.112.0.0',
    'mcbtaguiad', 'web-echo', 'Cluster A', 'Cluster B', 'port-distribution', 'icmp',
  ];
  for (const m of manifests) {
    for (const s of articleText) t.false(m.yaml.includes(s), `${m.name} contains the article's ${JSON.stringify(s)}`);
  }
  // Short article values: never a whole value (the container is named "echo" on purpose, whatever ECHO_NAME says).
  const fixedNames = new Set(['.spec.template.spec.containers.0.name']);
  const articleValues = new Set(['echo', 'local', 'dns', 'tcp', 'http', 'flow', 1, 2, 80, 6443]);
  for (const m of manifests) {
    for (const doc of docs(m)) {
      for (const [path, value] of leaves(doc)) {
        if (fixedNames.has(path)) continue;
        t.false(articleValues.has(value), `${m.name} ${path} is the article's ${JSON.stringify(value)}`);
      }
    }
  }
});

test('manifests of different clusters get different file names (transcripts write them side by side)', (t) => {
  const names = article.clusters.flatMap((c) => [ciliumValues(article, c), meshPool(c), appPool(c), echoApp(article, c)].map((m) => m.name));
  t.is(new Set(names).size, names.length);
});
