// @ts-check
// The cilium stand-in's Helm pieces without a cluster: strvals (--set), values
// merging (-f, --set*, mergeMaps, CoalesceTables for --reuse-values), release
// encoding as Helm's Secret driver stores it, the chart's validation and
// cilium-config keys, and Go's tabwriter layout used by `cilium status`.
import test from 'ava';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse, parseInto, parseIntoFile } from '../../twin/cilium/strvals.mjs';
import { mergeMaps, coalesceTables, mergeValues, fromYaml, coalesceWithDefaults, schemaErrors, toYaml } from '../../twin/cilium/values.mjs';
import { encodeRelease, decodeRelease, chartObject, threeWayPatch, applyMergePatch } from '../../twin/cilium/helm.mjs';
import { renderChart, brokenReason, etcdConfig, meshClusters } from '../../twin/cilium/chart.mjs';
import { tabwrite } from '../../twin/cilium/tabwriter.mjs';
import { parseTolerant, cmpVersion } from '../../twin/cilium/cmd-helm.mjs';
import { subjectKeyId, pemToDer, generateCA } from '../../twin/cilium/pki.mjs';

test('strvals: dotted keys, typed scalars, lists, indexes, escapes', (t) => {
  t.deepEqual(parse('cluster.name=cluster-a,cluster.id=1'), { cluster: { name: 'cluster-a', id: 1 } });
  t.deepEqual(parse('a=true,b=FALSE,c=null,d=0,e=007,f=1.5,g=-3'), { a: true, b: false, c: null, d: 0, e: '007', f: '1.5', g: -3 });
  t.deepEqual(parse('hubble.metrics.enabled={dns,drop,tcp,flow,port-distribution,icmp,http}'),
    { hubble: { metrics: { enabled: ['dns', 'drop', 'tcp', 'flow', 'port-distribution', 'icmp', 'http'] } } });
  t.deepEqual(parse('ipam.operator.clusterPoolIPv4PodCIDRList={10.42.0.0/16}'), { ipam: { operator: { clusterPoolIPv4PodCIDRList: ['10.42.0.0/16'] } } });
  t.deepEqual(parse('a[0].b=c,a[1]=x'), { a: [{ b: 'c' }, 'x'] });
  t.deepEqual(parse('a[2]=z'), { a: [null, null, 'z'] });
  t.deepEqual(parse('name=a\\,b,dot\\.key=v'), { name: 'a,b', 'dot.key': 'v' });
  t.deepEqual(parse('empty='), { empty: '' });
  t.deepEqual(parse('list={}'), { list: [''] });
});

test('strvals: --set-string keeps strings; later --set wins; errors like Helm', (t) => {
  const v = {};
  parseInto('cluster.id=1,x=true', v, true);
  t.deepEqual(v, { cluster: { id: '1' }, x: 'true' });
  const w = { cluster: { name: 'a', id: 1 } };
  parseInto('cluster.id=2', w);
  t.deepEqual(w, { cluster: { name: 'a', id: 2 } });
  t.throws(() => parse('novalue'), { message: 'key "novalue" has no value' });
  t.throws(() => parse('a,b=c'), { message: 'key "a" has no value (cannot end with ,)' });
  t.throws(() => parse('a={x,y'), { message: "list must terminate with '}'" });
  t.throws(() => parse('a[x]=1'), { message: 'error parsing index: strconv.Atoi: parsing "x": invalid syntax' });
  t.throws(() => parse('a.=1'), { message: 'key map "a" has no value' });
});

test('strvals: --set-file reads the file content', (t) => {
  const v = parseIntoFile('tls.ca.cert=/x/ca.pem', {}, (p) => `content of ${p}`);
  t.deepEqual(v, { tls: { ca: { cert: 'content of /x/ca.pem' } } });
  t.throws(() => parseIntoFile('a=/missing', {}, () => { throw new Error('open /missing: no such file or directory'); }),
    { message: 'open /missing: no such file or directory' });
});

test('values: -f files merge in order, then --set, --set-string, --set-file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cilium-values-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'a.yaml'), 'cluster:\n  name: from-a\n  id: 1\nhubble:\n  relay:\n    enabled: true\n');
  await writeFile(join(dir, 'b.yaml'), 'cluster:\n  name: from-b\nipam:\n  operator:\n    clusterPoolIPv4PodCIDRList: [10.42.0.0/16]\n');
  await writeFile(join(dir, 'cert.pem'), 'PEM');
  const v = await mergeValues({
    valueFiles: [join(dir, 'a.yaml'), join(dir, 'b.yaml')],
    values: ['cluster.id=7'], stringValues: ['k8sServicePort=6443'], fileValues: [`tls.ca.cert=${join(dir, 'cert.pem')}`],
  }, fromYaml);
  t.deepEqual(v, {
    cluster: { name: 'from-b', id: 7 },
    hubble: { relay: { enabled: true } },
    ipam: { operator: { clusterPoolIPv4PodCIDRList: ['10.42.0.0/16'] } },
    k8sServicePort: '6443',
    tls: { ca: { cert: 'PEM' } },
  });
  await t.throwsAsync(mergeValues({ valueFiles: [join(dir, 'nope.yaml')], values: [], stringValues: [], fileValues: [] }, fromYaml),
    { message: `open ${join(dir, 'nope.yaml')}: no such file or directory` });
  await t.throwsAsync(mergeValues({ valueFiles: [], values: ['bad'], stringValues: [], fileValues: [] }, fromYaml),
    { message: 'failed parsing --set data: key "bad" has no value' });
});

test('values: mergeMaps lets the right side win, tables merge, lists replace', (t) => {
  t.deepEqual(mergeMaps({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), { a: { b: 1, c: [3] }, d: 1, e: 2 });
});

test('values: CoalesceTables (reuse-values) keeps old values under new ones; null deletes', (t) => {
  const old = { cluster: { name: 'a', id: 1 }, clustermesh: { config: { enabled: true, clusters: [{ name: 'b', ips: ['127.0.0.2'], port: 2379 }] } } };
  const merged = coalesceTables({ hubble: { enabled: false } }, structuredClone(old));
  t.deepEqual(merged.clustermesh.config.clusters, old.clustermesh.config.clusters, 'connect\'s clusters survive --reset-then-reuse-values');
  t.is(merged.hubble.enabled, false);
  const cleared = coalesceTables({ cluster: { id: null } }, structuredClone(old));
  t.deepEqual(cleared.cluster, { name: 'a' });
  const over = coalesceTables({ clustermesh: { config: { clusters: [] } } }, structuredClone(old));
  t.deepEqual(over.clustermesh.config.clusters, [], 'a new list replaces the old one');
});

test('release: Helm encoding round trip; the API adds one more base64 layer', (t) => {
  const rel = {
    name: 'cilium', namespace: 'kube-system', version: 3,
    info: { first_deployed: '2026-01-01T00:00:00Z', last_deployed: '2026-01-02T00:00:00Z', description: 'Upgrade complete', status: 'deployed' },
    chart: chartObject('1.19.3'), config: { cluster: { name: 'cluster-a', id: 1 } }, manifest: '---\n', apply_method: 'csa',
    labels: { name: 'cilium' },
  };
  const enc = encodeRelease(rel);
  const raw = Buffer.from(enc, 'base64');
  t.deepEqual([...raw.subarray(0, 3)], [0x1f, 0x8b, 0x08], 'gzip magic');
  const json = JSON.parse(gunzipSync(raw).toString('utf8'));
  t.is(json.chart.metadata.version, '1.19.3');
  t.is(json.chart.metadata.name, 'cilium');
  t.is(json.labels, undefined, 'storage labels are not part of the record');
  const back = decodeRelease(enc);
  t.deepEqual(back.config, rel.config);
  t.is(back.info.status, 'deployed');
  t.is(back.version, 3);
  const secretData = Buffer.from(enc).toString('base64');
  t.deepEqual(decodeRelease(Buffer.from(secretData, 'base64').toString('utf8')).config, rel.config);
  t.deepEqual(decodeRelease(Buffer.from(JSON.stringify({ name: 'x', version: 1 })).toString('base64')).name, 'x', 'plain JSON records decode too');
});

test('apply: 3-way merge patch only carries changes, and deletes dropped keys', (t) => {
  const original = { data: { a: '1', b: '2' }, spec: { ports: [{ port: 2379 }] } };
  const target = { data: { a: '1', c: '3' }, spec: { ports: [{ port: 2379 }] } };
  const patch = threeWayPatch(original, target);
  t.deepEqual(patch, { data: { b: null, c: '3' } });
  const live = { data: { a: '1', b: '2' }, spec: { ports: [{ port: 2379, nodePort: 31000 }], clusterIP: '10.43.0.9' } };
  t.deepEqual(applyMergePatch(live, patch), { data: { a: '1', c: '3' }, spec: { ports: [{ port: 2379, nodePort: 31000 }], clusterIP: '10.43.0.9' } });
});

/** @param {Record<string, any>} config */
const render = (config) => renderChart({
  values: coalesceWithDefaults(config, '1.19.3'), namespace: 'kube-system', releaseName: 'cilium', chartVersion: '1.19.3',
  ca: { cert: 'CERT', key: 'KEY' },
});
/** @param {ReturnType<typeof render>} out @param {string} kind @param {string} name */
const find = (out, kind, name) => out.find((r) => r.obj.kind === kind && r.obj.metadata.name === name)?.obj;

test('chart: the 1.19 pod CIDR key is clusterPoolIPv4PodCIDRList; the article\'s key is ignored', (t) => {
  const article = render({ cluster: { name: 'cluster-a', id: 1 }, clusterPoolIPv4PodCIDR: '10.42.0.0/16', ipam: { operator: { clusterPoolIPv4PodCIDR: '10.42.0.0/16' } } });
  t.is(find(article, 'ConfigMap', 'cilium-config')?.data['cluster-pool-ipv4-cidr'], '10.0.0.0/8');
  const fixed = render({ cluster: { name: 'cluster-a', id: 1 }, ipam: { operator: { clusterPoolIPv4PodCIDRList: ['10.42.0.0/16', '10.44.0.0/16'] } } });
  const cm = find(fixed, 'ConfigMap', 'cilium-config')?.data;
  t.is(cm['cluster-pool-ipv4-cidr'], '10.42.0.0/16 10.44.0.0/16');
  t.is(cm['cluster-pool-ipv4-mask-size'], '24');
  t.is(cm['cluster-name'], 'cluster-a');
  t.is(cm['cluster-id'], '1');
  t.is(cm['kube-proxy-replacement'], 'false');
  t.is(cm['identity-allocation-mode'], 'crd');
  t.is(cm['max-connected-clusters'], '255');
});

test('chart: validation fails where the templates fail', (t) => {
  t.throws(() => render({ cluster: { name: 'Cluster_A', id: 1 } }), {
    message: "execution error at (cilium/templates/validate.yaml:159:5): The cluster name is invalid: must consist of lower case alphanumeric characters and '-', and must start and end with an alphanumeric character",
  });
  t.throws(() => render({ cluster: { name: 'x'.repeat(33), id: 1 } }), { message: /validate\.yaml:156:5\): The cluster name is invalid: must not be more than 32 characters$/ });
  t.throws(() => render({ cluster: { name: 'default', id: 3 } }), { message: /cannot use default value with cluster.id != 0$/ });
  t.throws(() => render({ kubeProxyReplacement: 'strict' }), {
    message: 'execution error at (cilium/templates/cilium-configmap.yaml:79:5): kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue.',
  });
  t.throws(() => render({ hubble: { ui: { enabled: true } } }), { message: /Hubble UI requires \.Values\.hubble\.relay\.enabled=true$/ });
  t.notThrows(() => render({ l2announcements: { enabled: true } }), 'the 1.19 chart has no l2announcements/kubeProxyReplacement check');
  t.is(schemaErrors(coalesceWithDefaults({ cluster: { id: '1' } }, '1.19.3')),
    "values don't meet the specifications of the schema(s) in the following chart(s):\ncilium:\n- at '/cluster/id': got string, want integer\n");
});

test('chart: configurations that cannot run are marked for the twin', (t) => {
  t.is(brokenReason(coalesceWithDefaults({ kubeProxyReplacement: true }, '1.19.3')), 'k8sServiceHost unset with kubeProxyReplacement=true');
  t.is(brokenReason(coalesceWithDefaults({ kubeProxyReplacement: true, k8sServiceHost: '127.0.10.1', k8sServicePort: 6443 }, '1.19.3')), '');
  t.is(brokenReason(coalesceWithDefaults({ cluster: { name: 'a', id: 300 } }, '1.19.3')), 'invalid cluster id 300: must be in range 0..255');
  const out = render({ kubeProxyReplacement: true });
  t.is(find(out, 'DaemonSet', 'cilium')?.metadata.annotations?.['twin.runbook/broken'], 'k8sServiceHost unset with kubeProxyReplacement=true');
  t.is(find(out, 'Deployment', 'cilium-operator')?.metadata.annotations?.['twin.runbook/broken'], 'k8sServiceHost unset with kubeProxyReplacement=true', 'the operator cannot reach the API either');
  const badId = render({ cluster: { name: 'a', id: 300 } });
  t.is(find(badId, 'DaemonSet', 'cilium')?.metadata.annotations?.['twin.runbook/broken'], 'invalid cluster id 300: must be in range 0..255');
  t.is(find(badId, 'Deployment', 'cilium-operator')?.metadata.annotations, undefined);
  const ok = render({ kubeProxyReplacement: true, k8sServiceHost: '127.0.10.1', k8sServicePort: 6443 });
  const ds = find(ok, 'DaemonSet', 'cilium');
  t.is(ds?.metadata.annotations, undefined);
  t.true(ds?.spec.template.spec.hostNetwork);
  t.deepEqual(ds?.spec.template.spec.containers[0].env.filter((/** @type {any} */ e) => e.name.startsWith('KUBERNETES_')),
    [{ name: 'KUBERNETES_SERVICE_HOST', value: '127.0.10.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: '6443' }]);
  t.is(ds?.spec.template.spec.containers[0].image, 'quay.io/cilium/cilium:v1.19.3');
});

test('chart: clustermesh objects and the etcd configuration per remote', (t) => {
  const out = render({
    cluster: { name: 'cluster-a', id: 1 },
    clustermesh: { useAPIServer: true, config: { enabled: true, clusters: [{ name: 'cluster-b', ips: ['127.0.100.2'], port: 2379 }] }, apiserver: { service: { type: 'LoadBalancer' } } },
  });
  const svc = find(out, 'Service', 'clustermesh-apiserver');
  t.is(svc?.spec.type, 'LoadBalancer');
  t.deepEqual(svc?.spec.ports, [{ port: 2379 }]);
  const dep = find(out, 'Deployment', 'clustermesh-apiserver');
  t.falsy(dep?.spec.template.spec.hostNetwork);
  t.deepEqual(dep?.spec.template.spec.containers.map((/** @type {any} */ c) => c.name), ['etcd', 'apiserver', 'kvstoremesh']);
  t.deepEqual(dep?.spec.template.spec.hostAliases, [{ ip: '127.0.100.2', hostnames: ['cluster-b.mesh.cilium.io'] }]);
  const sec = find(out, 'Secret', 'cilium-clustermesh');
  t.is(Buffer.from(sec?.data['cluster-b'], 'base64').toString(), [
    'endpoints:', '- https://127.0.100.2:2379',
    'trusted-ca-file: /var/lib/cilium/clustermesh/local-etcd-client-ca.crt',
    'key-file: /var/lib/cilium/clustermesh/local-etcd-client.key',
    'cert-file: /var/lib/cilium/clustermesh/local-etcd-client.crt', ''].join('\n'));
  t.truthy(find(out, 'Secret', 'cilium-kvstoremesh'));
  const np = render({ clustermesh: { useAPIServer: true, apiserver: { service: { type: 'NodePort' } } } });
  t.deepEqual(find(np, 'Service', 'clustermesh-apiserver')?.spec.ports, [{ port: 2379, nodePort: 32379 }]);
  t.is(etcdConfig({ name: 'b', ips: ['127.0.0.9'], port: 2379 }, false),
    'endpoints:\n- https://127.0.0.9:2379\ntrusted-ca-file: /var/lib/cilium/clustermesh/common-etcd-client-ca.crt\nkey-file: /var/lib/cilium/clustermesh/common-etcd-client.key\ncert-file: /var/lib/cilium/clustermesh/common-etcd-client.crt\n');
  t.deepEqual(meshClusters(coalesceWithDefaults({ clustermesh: { config: { clusters: { z: { ips: ['1'], port: 1 }, y: { enabled: false } } } } }, '1.20.0')).map((c) => c.name), ['z'], 'map form (1.20) and enabled: false');
});

test('tabwriter: Go layout with padding 4, trailing cells not padded, blocks end at lines without tabs', (t) => {
  const text = 'a\tbb\tc\nlonger\tx\ty\n\nDaemonSet\tcilium\tDesired: 3\nContainers:\tcilium\tRunning: 3\n\tcilium-operator\t\n';
  t.is(tabwrite(text), [
    'a         bb    c',
    'longer    x     y',
    '',
    'DaemonSet      cilium             Desired: 3',
    'Containers:    cilium             Running: 3',
    '               cilium-operator    ',
    '',
  ].join('\n'));
});

test('versions: semver ParseTolerant and ordering', (t) => {
  t.is(parseTolerant('v1.19.3'), '1.19.3');
  t.is(parseTolerant('1.19'), '1.19.0');
  t.is(parseTolerant(' v1.19.0-rc.1 '), '1.19.0-rc.1');
  t.throws(() => parseTolerant('1.x.3'), { message: 'Invalid character(s) found in minor number "x"' });
  t.true(cmpVersion('1.19.3', '1.20.0') < 0);
  t.true(cmpVersion('1.20.0-pre.1', '1.20.0') < 0);
  t.is(cmpVersion('1.19.3', '1.19.3'), 0);
});

test('pki: two CAs differ by Subject Key Identifier, a copy does not', async (t) => {
  const a = await generateCA('Cilium CA', 1);
  const b = await generateCA('Cilium CA', 1);
  const ka = subjectKeyId(/** @type {Buffer} */ (pemToDer(a.cert)));
  t.is(ka.length, 20);
  t.true(ka.equals(subjectKeyId(/** @type {Buffer} */ (pemToDer(`${a.cert}`)))));
  t.false(ka.equals(subjectKeyId(/** @type {Buffer} */ (pemToDer(b.cert)))));
  t.is(pemToDer('not a pem'), null);
});

test('dry-run values print like sigs.k8s.io/yaml (sorted keys, flat sequences)', async (t) => {
  t.is(await toYaml({ operator: { replicas: 1 }, cluster: { name: 'a', id: 1 }, hubble: { metrics: { enabled: ['dns', 'drop'] } } }),
    'cluster:\n  id: 1\n  name: a\nhubble:\n  metrics:\n    enabled:\n    - dns\n    - drop\noperator:\n  replicas: 1\n');
});
