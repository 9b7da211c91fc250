// @ts-check
// The cilium stand-in against the twin: install (release record, cilium-config,
// cilium-ca, workloads), the second install's refusal, the 1.19 pod CIDR key,
// CA reuse and Helm's ownership check, status (--wait success, timeout,
// crash-loop), upgrade (reset-then-reuse keeps values, --reset-values drops
// them, revisions superseded), uninstall. Assertions go through the stores.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { startTwin } from '../../twin/twin.mjs';
import { scaled } from '../support/time.mjs';

const BIN = fileURLToPath(new URL('../../twin/bin/cilium', import.meta.url));
const NS = 'kube-system';

/** @type {import('../../twin/server/types.js').RunningTwin} */
let twin;

test.before(async () => {
  twin = await startTwin({ cleanup: true, nodeIpBase: { a: '127.77.1.1', b: '127.77.2.1' }, delays: { podReadyMs: 150, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 } });
});
test.after.always(async () => { await twin?.stop(); });

/**
 * Runs the stand-in with the twin's merged kubeconfig as KUBECONFIG.
 * @param {string[]} args @param {Record<string, string>} [env]
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
function cilium(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, KUBECONFIG: twin.kubeconfig, TWIN_CILIUM_RETRY_MS: '100', ...env }, timeout: scaled(60_000),
    }, (err, stdout, stderr) => resolve({ code: err ? Number(/** @type {any} */ (err).code) : 0, stdout, stderr }));
  });
}

/** @param {string} s */
const plain = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
/** @param {string} s collapse tabwriter padding */
const squeeze = (s) => plain(s).split('\n').map((l) => l.replace(/ {2,}/g, ' ').trimEnd());

/** @param {'a'|'b'} k */
const store = (k) => twin.clusters[k].store;
/** @param {'a'|'b'} k */
const releases = (k) => store(k).list('/secrets', NS).filter((s) => s.metadata.labels?.owner === 'helm');
/** @param {any} secret */
const decode = (secret) => JSON.parse(gunzipSync(Buffer.from(Buffer.from(secret.data.release, 'base64').toString(), 'base64')).toString());

/** The article's install, with the fixes the runbook needs (API server address, the 1.19 CIDR key). @param {'a'|'b'} k @param {number} id */
const fixedInstall = (k, id) => [
  '--context', `cluster-${k}`, 'install', '--version', '1.19.3',
  '--set', 'kubeProxyReplacement=true', '--set', `k8sServiceHost=${twin.clusters[k].nodes[0].ip}`, '--set', 'k8sServicePort=6443',
  '--set', 'ipam.mode=cluster-pool', '--set', 'loadBalancerIPAM.enabled=true',
  '--set', `cluster.name=cluster-${k}`, '--set', `cluster.id=${id}`,
  '--set', `ipam.operator.clusterPoolIPv4PodCIDRList={10.4${k === 'a' ? 2 : 3}.0.0/16}`,
  '--set', 'l2announcements.enabled=true', '--set', 'hubble.enabled=true',
  '--set', 'hubble.metrics.enabled={dns,drop,tcp,flow,port-distribution,icmp,http}',
];

test.serial('before install: version and status report the missing release', async (t) => {
  const v = await cilium(['--context', 'cluster-a', 'version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^cilium image \(running\): unknown\. Unable to obtain cilium version\. Reason: release: not found$/m);
  const s = await cilium(['--context', 'cluster-a', 'status']);
  t.is(s.code, 1);
  t.regex(s.stderr, /^status check failed: \[daemonsets(\.apps)? "cilium" not found, unable to retrieve ConfigMap "cilium-config": configmaps "cilium-config" not found\]\n$/);
  t.true(squeeze(s.stdout).includes(' /¯¯\\__/¯¯\\ Cilium: 1 errors'));
  t.true(squeeze(s.stdout).includes(' \\__/¯¯\\__/ Operator: disabled'));
});

test.serial('status --wait on a cluster without Cilium times out with the CLI\'s error', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'status', '--wait', '--wait-duration', '1s', '--interactive=false']);
  t.is(r.code, 1);
  t.true(r.stderr.endsWith('\nError: Unable to determine status:  timeout while waiting for status to become successful: context deadline exceeded\n'));
  t.true(plain(r.stderr).includes('Cilium:'), 'the last status goes to stderr first');
});

test.serial('install: auto-detection lines, release v1, config, CA and workloads', async (t) => {
  const r = await cilium(fixedInstall('a', 1));
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(r.stdout, '🔮 Auto-detected Kubernetes kind: K3s\nℹ️  Using Cilium version 1.19.3\nℹ️  Using cluster name "cluster-a"\n');
  const rel = releases('a');
  t.is(rel.length, 1);
  t.is(rel[0].metadata.name, 'sh.helm.release.v1.cilium.v1');
  t.is(rel[0].type, 'helm.sh/release.v1');
  t.like(rel[0].metadata.labels, { owner: 'helm', name: 'cilium', status: 'deployed', version: '1' });
  const body = decode(rel[0]);
  t.is(body.chart.metadata.name, 'cilium');
  t.is(body.chart.metadata.version, '1.19.3');
  t.is(body.info.status, 'deployed');
  t.is(body.info.description, 'Install complete');
  t.is(body.namespace, NS);
  t.deepEqual(body.config.cluster, { name: 'cluster-a', id: 1 });
  t.is(body.config.operator.replicas, 1, 'the CLI sets operator.replicas=1');
  t.is(body.config.routingMode, 'tunnel');
  t.is(body.config.tunnelProtocol, 'vxlan');
  t.deepEqual(body.config.hubble.metrics.enabled, ['dns', 'drop', 'tcp', 'flow', 'port-distribution', 'icmp', 'http']);
  t.regex(body.manifest, /# Source: cilium\/templates\/cilium-configmap\.yaml/);

  const cm = store('a').get('/configmaps', NS, 'cilium-config');
  t.like(cm?.data, {
    'cluster-name': 'cluster-a', 'cluster-id': '1', 'cluster-pool-ipv4-cidr': '10.42.0.0/16', 'kube-proxy-replacement': 'true',
    'enable-l2-announcements': 'true', 'enable-hubble': 'true', 'routing-mode': 'tunnel', 'tunnel-protocol': 'vxlan', ipam: 'cluster-pool',
  });
  const ca = store('a').get('/secrets', NS, 'cilium-ca');
  t.regex(Buffer.from(ca?.data['ca.crt'], 'base64').toString(), /^-----BEGIN CERTIFICATE-----/);
  t.truthy(ca?.data['ca.key']);
  t.is(ca?.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
  t.like(ca?.metadata.annotations, { 'meta.helm.sh/release-name': 'cilium', 'meta.helm.sh/release-namespace': NS });
  const ds = store('a').get('apps/daemonsets', NS, 'cilium');
  t.true(ds?.spec.template.spec.hostNetwork);
  t.is(ds?.spec.template.spec.containers[0].image, 'quay.io/cilium/cilium:v1.19.3');
  t.is(ds?.metadata.annotations?.['twin.runbook/broken'], undefined);
  const op = store('a').get('apps/deployments', NS, 'cilium-operator');
  t.is(op?.spec.replicas, 1);
  t.true(op?.spec.template.spec.hostNetwork);
  t.truthy(store('a').get('apps/daemonsets', NS, 'cilium-envoy'));
});

test.serial('a second install fails with Helm v4\'s words and changes nothing', async (t) => {
  const before = store('a').get('/configmaps', NS, 'cilium-config')?.metadata.resourceVersion;
  const r = await cilium(fixedInstall('a', 1));
  t.is(r.code, 1);
  t.is(r.stderr, '\nError: Unable to install Cilium: release name check failed: cannot reuse a name that is still in use\n');
  t.is(releases('a').length, 1);
  t.is(store('a').get('/configmaps', NS, 'cilium-config')?.metadata.resourceVersion, before);
});

test.serial('status --wait succeeds once agents and operator are ready; JSON has the CLI\'s keys', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'status', '--wait', '--wait-duration', '30s', '--interactive=false']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  const lines = squeeze(r.stdout);
  for (const l of [' /¯¯\\__/¯¯\\ Cilium: OK', ' \\__/¯¯\\__/ Operator: OK', ' /¯¯\\__/¯¯\\ Envoy DaemonSet: OK', ' \\__/¯¯\\__/ Hubble Relay: disabled',
    ' \\__/ ClusterMesh: disabled', 'DaemonSet cilium Desired: 3, Ready: 3/3, Available: 3/3', 'Deployment cilium-operator Desired: 1, Ready: 1/1, Available: 1/1',
    'Containers: cilium Running: 3', 'Helm chart version: 1.19.3', 'Image versions cilium quay.io/cilium/cilium:v1.19.3: 3']) {
    t.true(lines.includes(l), l);
  }
  t.regex(plain(r.stdout), /^Cluster Pods: +\d+\/\d+ managed by Cilium$/m);
  const j = await cilium(['--context', 'cluster-a', 'status', '-o', 'json']);
  t.is(j.code, 0);
  const s = JSON.parse(j.stdout);
  t.deepEqual(Object.keys(s).filter((k) => ['image_count', 'phase_count', 'pod_state', 'pods_count', 'cilium_status', 'errors', 'helm_chart_version'].includes(k)).sort(),
    ['cilium_status', 'errors', 'helm_chart_version', 'image_count', 'phase_count', 'pod_state', 'pods_count']);
  t.like(s.pod_state.cilium, { Type: 'DaemonSet', Desired: 3, Ready: 3, Available: 3 });
  t.deepEqual(s.phase_count.cilium, { Running: 3 });
  t.is(s.helm_chart_version, '1.19.3');
  t.deepEqual(s.errors['hubble-relay']['hubble-relay'], { Errors: [], Warnings: [], Disabled: true });
  t.is(s.collection_errors, undefined);
  const v = await cilium(['--context', 'cluster-a', 'version']);
  t.regex(v.stdout, /^cilium image \(running\): 1\.19\.3$/m);
});

test.serial('upgrade: reset-then-reuse keeps the installed values, a new revision supersedes the old', async (t) => {
  const r = await cilium(['--context', 'cluster-a', 'upgrade', '--version', '1.19.3', '--set', 'hubble.relay.enabled=true']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(r.stdout, '🔮 Auto-detected Kubernetes kind: K3s\nℹ️  Using Cilium version 1.19.3\n🔮 Auto-detected cluster name: cluster-a\n⚠️  You maybe need to restart Cilium pods for configmap changes to take effect\n');
  const byName = Object.fromEntries(releases('a').map((s) => [s.metadata.name, s]));
  t.is(byName['sh.helm.release.v1.cilium.v1'].metadata.labels?.status, 'superseded');
  t.is(byName['sh.helm.release.v1.cilium.v2'].metadata.labels?.status, 'deployed');
  const cfg = decode(byName['sh.helm.release.v1.cilium.v2']).config;
  t.deepEqual(cfg.cluster, { name: 'cluster-a', id: 1 });
  t.is(cfg.hubble.relay.enabled, true);
  t.truthy(store('a').get('apps/deployments', NS, 'hubble-relay'));
  t.is(store('a').get('/configmaps', NS, 'cilium-config')?.data['cluster-pool-ipv4-cidr'], '10.42.0.0/16');
});

test.serial('upgrade --reset-values drops what is not given again; dry-run values change nothing', async (t) => {
  const dry = await cilium(['--context', 'cluster-a', 'upgrade', '--version', '1.19.3', '--reset-values', '--set', 'cluster.name=cluster-a', '--dry-run-helm-values']);
  t.is(dry.code, 0);
  t.is(dry.stdout, 'cluster:\n  name: cluster-a\n\n⚠️  You maybe need to restart Cilium pods for configmap changes to take effect\n');
  t.is(releases('a').length, 2);
  const r = await cilium(['--context', 'cluster-a', 'upgrade', '--version', '1.19.3', '--reset-values', '--set', 'cluster.name=cluster-a', '--set', 'cluster.id=1',
    '--set', 'kubeProxyReplacement=true', '--set', `k8sServiceHost=${twin.clusters.a.nodes[0].ip}`, '--set', 'k8sServicePort=6443']);
  t.is(r.code, 0);
  const v3 = releases('a').find((s) => s.metadata.name === 'sh.helm.release.v1.cilium.v3');
  t.deepEqual(decode(v3).config, { cluster: { name: 'cluster-a', id: 1 }, kubeProxyReplacement: true, k8sServiceHost: twin.clusters.a.nodes[0].ip, k8sServicePort: 6443 });
  t.is(store('a').get('apps/deployments', NS, 'hubble-relay'), undefined, 'Helm deletes what the chart no longer renders');
  t.is(store('a').get('/configmaps', NS, 'cilium-config')?.data['cluster-pool-ipv4-cidr'], '10.0.0.0/8');
  t.is(store('a').get('apps/deployments', NS, 'cilium-operator')?.spec.replicas, 2, 'operator.replicas=1 is only set by install');
});

test.serial('install on b: a copied cilium-ca without Helm\'s ownership is refused, with it it is reused', async (t) => {
  const caA = /** @type {import('../../twin/store/types.js').KubeObject} */ (store('a').get('/secrets', NS, 'cilium-ca'));
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, managedFields: _m, labels: _l, annotations: _a, ...meta } = /** @type {any} */ (caA.metadata);
  store('b').create('/secrets', { ...caA, metadata: meta });
  const refused = await cilium(['--context', 'cluster-b', 'install', '--version', '1.19.3', '--set', 'cluster.name=cluster-b', '--set', 'cluster.id=2']);
  t.is(refused.code, 1);
  t.is(refused.stderr, '\nError: Unable to install Cilium: unable to continue with install: Secret "cilium-ca" in namespace "kube-system" exists and cannot be imported into the current release: invalid ownership metadata; label validation error: missing key "app.kubernetes.io/managed-by": must be set to "Helm"; annotation validation error: missing key "meta.helm.sh/release-name": must be set to "cilium"; annotation validation error: missing key "meta.helm.sh/release-namespace": must be set to "kube-system"\n');
  t.is(releases('b').length, 0);
  store('b').delete('/secrets', NS, 'cilium-ca');
  const { uid, resourceVersion, creationTimestamp, managedFields, ...withOwnership } = /** @type {any} */ (caA.metadata);
  store('b').create('/secrets', { ...caA, metadata: withOwnership });

  // The article's flags: clusterPoolIPv4PodCIDR is not read by the 1.19 chart, and no k8sServiceHost.
  const r = await cilium(['--context', 'cluster-b', 'install', '--version', 'v1.19.3', '--set', 'kubeProxyReplacement=true',
    '--set', 'cluster.name=cluster-b', '--set', 'cluster.id=2', '--set', 'clusterPoolIPv4PodCIDR=10.43.0.0/16', '--set', 'l2announcements.enabled=true']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  const caB = store('b').get('/secrets', NS, 'cilium-ca');
  t.deepEqual(caB?.data, caA?.data, 'the existing CA is kept');
  t.is(store('b').get('/configmaps', NS, 'cilium-config')?.data['cluster-pool-ipv4-cidr'], '10.0.0.0/8');
  t.is(store('b').get('apps/daemonsets', NS, 'cilium')?.metadata.annotations?.['twin.runbook/broken'], 'k8sServiceHost unset with kubeProxyReplacement=true');
});

test.serial('status --wait stops when the agents crash-loop, as the CLI cancels its wait', async (t) => {
  const r = await cilium(['--context', 'cluster-b', 'status', '--wait', '--wait-duration', '30s', '--interactive=false']);
  t.is(r.code, 1);
  t.true(r.stderr.endsWith('\nError: Unable to determine status:  wait canceled, cilium agent container has crashed or was terminated: context canceled\n'), r.stderr);
  t.regex(plain(r.stderr), /unable to retrieve cilium status: container cilium-agent is in CrashLoopBackOff, exited with code 1: k8sServiceHost unset with kubeProxyReplacement=true/);
});

test.serial('uninstall removes the release and what Helm owns, then has nothing to uninstall', async (t) => {
  const r = await cilium(['--context', 'cluster-b', 'uninstall']);
  t.is(r.stderr, '');
  t.is(r.code, 0);
  t.is(r.stdout, [
    '🔥 Deleting pods in cilium-test namespace...', '🔥 Deleting cilium-test namespace...', '⌛ Uninstalling Cilium',
    '🔥 Deleting pods in cilium-test namespace...', '🔥 Deleting cilium-test namespace...', '🔥 Cleaning up Cilium node annotations...', '',
  ].join('\n'));
  t.is(releases('b').length, 0);
  for (const [res, name] of [['apps/daemonsets', 'cilium'], ['apps/daemonsets', 'cilium-envoy'], ['apps/deployments', 'cilium-operator'], ['/configmaps', 'cilium-config'], ['/secrets', 'cilium-ca']]) {
    t.is(store('b').get(res, NS, name), undefined, `${res} ${name}`);
  }
  const again = await cilium(['--context', 'cluster-b', 'uninstall']);
  t.is(again.code, 1);
  t.true(again.stderr.endsWith('\nError: Unable to uninstall Cilium:  uninstall: Release not loaded: cilium: release: not found\n'));
  const up = await cilium(['--context', 'cluster-b', 'upgrade', '--version', '1.19.3']);
  t.is(up.code, 1);
  t.is(up.stderr, '\nError: Unable to upgrade Cilium: "cilium" has no deployed releases\n');
});

test.serial('install --dry-run prints manifests and creates nothing', async (t) => {
  const r = await cilium(['--context', 'cluster-b', 'install', '--version', '1.19.3', '--set', 'cluster.name=cluster-b', '--set', 'cluster.id=2', '--dry-run']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^---\n# Source: cilium\/templates\/cilium-agent\/serviceaccount\.yaml\n/, "ServiceAccounts come first, as in Helm's install order");
  t.regex(r.stdout, /kind: DaemonSet\n/);
  t.false(r.stdout.includes('Auto-detected'), 'dry runs do not log');
  t.is(releases('b').length, 0);
  t.is(store('b').get('/configmaps', NS, 'cilium-config'), undefined);
});
