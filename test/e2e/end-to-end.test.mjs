// @ts-check
// `npm run all` on a fresh twin: exit 0 and the article's end state, read from
// the twin's stores, its mesh state and its data plane (real HTTP to the VIPs),
// never from what the runbook prints about itself. Once with the article's
// values, once with a config where every value differs, which must leave no
// article value anywhere.
import { e2eTwin, helmRelease, obj } from '../support/e2e.mjs';
import { testWithEachCli } from '../support/cilium-cli.mjs';
import { articleVars } from '../support/config-fixture.mjs';
import { httpGet, setEnvVars, storeText, storeNames } from '../support/e2e-checks.mjs';
import { meshState } from '../../twin/controllers/index.mjs';
import { ipToInt } from '../../twin/kinds/service-alloc.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('ava').ExecutionContext} T */

const DRILL = 'clustermesh-runbook.io/failover-drill';
const KEYS = /** @type {const} */ (['a', 'b']);

/**
 * Asserts the end state of a full run for the settings `v` (env.example's
 * values with the env file's on top), and returns the failover line.
 * @param {T} t @param {E2E} h @param {Record<string, string>} v @param {string} output
 */
async function assertEndState(t, h, v, output) {
  const X = (/** @type {'a' | 'b'} */ k) => `CLUSTER_${k.toUpperCase()}_`;
  const other = (/** @type {'a' | 'b'} */ k) => (k === 'a' ? 'b' : 'a');
  const ns = v.ECHO_NAMESPACE;
  const name = v.ECHO_NAME;
  const replicas = Number(v.ECHO_REPLICAS);
  const metrics = v.HUBBLE_METRICS.split(',').filter(Boolean);
  const bool = (/** @type {string} */ s) => s === 'true';

  for (const k of KEYS) {
    const c = (/** @type {string} */ s) => v[X(k) + s];
    const o = (/** @type {string} */ s) => v[X(other(k)) + s];
    const store = h.store(k);

    // Cilium: one deployed Helm release with the runbook's values.
    const deployed = store.list('/secrets', 'kube-system')
      .filter((s) => s.metadata.labels?.owner === 'helm' && s.metadata.labels?.name === 'cilium' && s.metadata.labels?.status === 'deployed');
    t.is(deployed.length, 1, `${k}: one deployed cilium release`);
    const rel = helmRelease(h, k);
    if (!rel) return t.fail(`${k}: no cilium Helm release`);
    t.is(rel.chart.metadata.version, v.CILIUM_VERSION.replace(/^v/, ''), `${k}: chart version`);
    const vals = rel.config;
    t.deepEqual(vals.cluster, { name: c('NAME'), id: Number(c('ID')) }, `${k}: cluster.name and cluster.id`);
    t.is(vals.ipam?.mode, 'cluster-pool');
    t.deepEqual(vals.ipam?.operator?.clusterPoolIPv4PodCIDRList, [c('POD_CIDR')], `${k}: the pod CIDR under the key 1.19 reads`);
    t.false('clusterPoolIPv4PodCIDR' in vals, `${k}: not the article's ignored key`);
    t.false('clusterPoolIPv4PodCIDR' in (vals.ipam?.operator ?? {}));
    t.is(vals.kubeProxyReplacement, true);
    t.is(vals.k8sServiceHost, c('API_HOST'));
    t.is(vals.k8sServicePort, Number(c('API_PORT')));
    t.deepEqual(vals.l2announcements, { enabled: true });
    t.deepEqual(vals.hubble, {
      enabled: bool(v.HUBBLE_ENABLED), relay: { enabled: bool(v.HUBBLE_RELAY_ENABLED) }, ui: { enabled: bool(v.HUBBLE_UI_ENABLED) },
      metrics: { enabled: metrics },
    }, `${k}: hubble values`);
    t.is(vals.clustermesh?.useAPIServer, true);
    t.is(vals.clustermesh?.apiserver?.service?.type, v.MESH_SERVICE_TYPE);
    t.deepEqual(vals.clustermesh?.config?.clusters, [{ name: o('NAME'), ips: [o('MESH_IP')], port: 2379 }], `${k}: configured to reach the other cluster`);
    t.is(Boolean(obj(h, k, 'apps/deployments', 'kube-system', 'hubble-ui')), bool(v.HUBBLE_UI_ENABLED), `${k}: hubble-ui deployed as configured`);
    t.is(Boolean(obj(h, k, 'apps/deployments', 'kube-system', 'hubble-relay')), bool(v.HUBBLE_RELAY_ENABLED));

    // What the agents read: the cilium-config ConfigMap.
    const cfg = obj(h, k, '/configmaps', 'kube-system', 'cilium-config')?.data ?? {};
    t.like(cfg, {
      'cluster-name': c('NAME'), 'cluster-id': c('ID'), 'cluster-pool-ipv4-cidr': c('POD_CIDR'),
      'kube-proxy-replacement': 'true', 'enable-l2-announcements': 'true', 'enable-hubble': v.HUBBLE_ENABLED,
    }, `${k}: cilium-config`);

    // LB-IPAM: the one-IP mesh pool for the apiserver only, the app pool for lb-pool=app, the L2 policy.
    const pools = Object.fromEntries(store.list('cilium.io/ciliumloadbalancerippools').map((p) => [p.metadata.name, p]));
    t.deepEqual(Object.keys(pools).sort(), ['app-pool', 'cluster-pool'], `${k}: pools`);
    t.deepEqual(pools['cluster-pool'].spec.blocks, [{ start: c('MESH_IP'), stop: c('MESH_IP') }]);
    t.deepEqual(pools['cluster-pool'].spec.serviceSelector,
      { matchLabels: { 'io.kubernetes.service.namespace': 'kube-system', 'io.kubernetes.service.name': 'clustermesh-apiserver' } });
    t.deepEqual(pools['app-pool'].spec.blocks, [{ start: c('APP_POOL_START'), stop: c('APP_POOL_STOP') }]);
    t.deepEqual(pools['app-pool'].spec.serviceSelector, { matchLabels: { 'lb-pool': 'app' } });
    for (const p of Object.values(pools)) {
      t.not((p.status?.conditions ?? []).find((/** @type {any} */ x) => x.type === 'cilium.io/PoolConflict')?.status, 'True', `${k}: ${p.metadata.name} not conflicting`);
    }
    const policies = store.list('cilium.io/ciliuml2announcementpolicies');
    t.deepEqual(policies.map((p) => p.metadata.name), ['l2-policy']);
    t.is(policies[0].spec.loadBalancerIPs, true);

    // The clustermesh-apiserver behind the mesh IP.
    const meshSvc = obj(h, k, '/services', 'kube-system', 'clustermesh-apiserver');
    t.is(meshSvc?.spec.type, 'LoadBalancer');
    t.deepEqual(meshSvc?.status?.loadBalancer?.ingress?.map((/** @type {any} */ i) => i.ip), [c('MESH_IP')], `${k}: apiserver at its mesh IP`);

    // echo: per-cluster image, the configured replicas (B restored after the drill), ready.
    const deploy = obj(h, k, 'apps/deployments', ns, name);
    if (!deploy) return t.fail(`${k}: no Deployment ${ns}/${name}`);
    t.is(deploy.spec.replicas, replicas, `${k}: echo replicas`);
    t.is(deploy.status?.readyReplicas, replicas, `${k}: echo ready`);
    t.is(deploy.spec.template.spec.containers[0].image, c('ECHO_IMAGE'));
    t.is(deploy.spec.template.spec.containers[0].ports[0].containerPort, Number(v.ECHO_TARGET_PORT));

    // The global Service in the echo namespace (not in default, as the article has it).
    const svc = obj(h, k, '/services', ns, name);
    if (!svc) return t.fail(`${k}: no Service ${ns}/${name}`);
    t.falsy(obj(h, k, '/services', 'default', name), `${k}: no stray Service in default`);
    t.like(svc.metadata.annotations, { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': v.ECHO_AFFINITY });
    t.like(svc.metadata.labels, { 'lb-pool': 'app' });
    t.is(svc.spec.type, 'LoadBalancer');
    t.is(svc.spec.loadBalancerClass, 'io.cilium/l2-announcer');
    t.deepEqual(svc.spec.ports.map((/** @type {any} */ p) => [p.port, p.targetPort]), [[Number(v.ECHO_SERVICE_PORT), Number(v.ECHO_TARGET_PORT)]]);
    const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
    t.true(ip !== '' && ipToInt(ip) >= ipToInt(c('APP_POOL_START')) && ipToInt(ip) <= ipToInt(c('APP_POOL_STOP')),
      `${k}: echo VIP ${ip} from the app pool ${c('APP_POOL_START')}–${c('APP_POOL_STOP')}`);

    // Real HTTP to the VIP: each cluster answers with its own page (affinity local).
    const page = await httpGet(ip, v.ECHO_SERVICE_PORT);
    t.is(page.status, 200);
    t.true(page.body.includes(c('ECHO_PAGE')) && !page.body.includes(o('ECHO_PAGE')),
      `${k}: VIP ${ip}:${v.ECHO_SERVICE_PORT} should show "${c('ECHO_PAGE')}", got ${JSON.stringify(page.body)}`);
  }

  // The CA B trusts is A's: same certificate and key.
  const caA = obj(h, 'a', '/secrets', 'kube-system', 'cilium-ca');
  const caB = obj(h, 'b', '/secrets', 'kube-system', 'cilium-ca');
  t.truthy(caA?.data?.['ca.crt']);
  t.deepEqual(caB?.data, caA?.data, "B's cilium-ca is A's");

  // The mesh, as the twin sees it: connected both ways.
  const mesh = meshState(h.twin);
  t.true(mesh.connected, mesh.reasons.join('; '));
  t.true(mesh.clusters.a.connected && mesh.clusters.b.connected);
  t.deepEqual(mesh.clusters.a.remotes, [v.CLUSTER_B_NAME]);
  t.deepEqual(mesh.clusters.b.remotes, [v.CLUSTER_A_NAME]);

  // The failover: reported by step 09 and recorded on B's Deployment.
  const re = new RegExp(`^ {2}(${esc(v.CLUSTER_A_CONTEXT)} answered on ${esc(v.CLUSTER_B_CONTEXT)}'s VIP (\\d+\\.\\d+)s after scale-down, (\\d+) failed requests)$`, 'm');
  const m = re.exec(output);
  if (!m) return t.fail(`no failover line for ${v.CLUSTER_A_CONTEXT} on ${v.CLUSTER_B_CONTEXT}'s VIP in the output`);
  t.true(Number(m[2]) < seconds(v.TIMEOUT_FAILOVER), `failover took ${m[2]}s`);
  const record = obj(h, 'b', 'apps/deployments', ns, name)?.metadata.annotations?.[DRILL] ?? '';
  t.regex(record, /^passed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: /);
  t.true(record.endsWith(`: ${m[1]}`), `the drill's record "${record}" holds the reported result`);
  t.falsy(obj(h, 'a', 'apps/deployments', ns, name)?.metadata.annotations?.[DRILL], 'only B was drilled');
}

/** "30s", "2m", "1m30s" or "45" in seconds. @param {string} d */
const seconds = (d) => [...d.matchAll(/(\d+)([ms]?)/g)].reduce((n, [, x, u]) => n + Number(x) * (u === 'm' ? 60 : 1), 0);

/** @param {string} s */
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

testWithEachCli("the article's config: npm run all exits 0 and leaves the article's end state in both clusters", async (t, cli) => {
  const h = await e2eTwin(t, { cilium: cli.bin });
  const run = await h.run('all.mjs');
  t.is(run.code, 0, run.output);
  t.regex(run.output, /^9 of 9 steps passed in /m);
  const v = { ...articleVars(), ...h.vars };
  // The article's values, literally, so a changed env.example cannot hide a regression.
  t.like(v, { CLUSTER_A_NAME: 'cluster-a', CLUSTER_A_ID: '1', CLUSTER_A_POD_CIDR: '10.42.0.0/16', CLUSTER_B_POD_CIDR: '10.43.0.0/16',
    CLUSTER_A_ECHO_IMAGE: 'mcbtaguiad/web-echo:cluster-a', CLUSTER_B_ECHO_PAGE: 'Cluster B', ECHO_NAMESPACE: 'echo', ECHO_REPLICAS: '1' });
  t.is(helmRelease(h, 'b')?.config.cluster.name, 'cluster-b');
  await assertEndState(t, h, v, run.output);
});

/** Article values (env.example and the twin's defaults) that the second config must not leave anywhere. */
const ARTICLE_VALUES = ['cluster-a', 'cluster-b', 'Cluster A', 'Cluster B', 'cluster_a', '10.42.0.0/16', '10.43.0.0/16', '10.96.0.0/12',
  '10.112.0.0/12', '10.97.0.0', '192.168.254.', 'mcbtaguiad', 'web-echo', '1.19.3'];

testWithEachCli('a config where every value differs: the same end state from its values, and no article value anywhere', async (t, cli) => {
  const h = await e2eTwin(t, {
    cilium: cli.bin,
    twin: { contexts: { a: 'east-lab', b: 'west-lab' }, serviceCidr: { a: '10.200.0.0/16', b: '10.201.0.0/16' }, podCidr: { a: '10.128.0.0/16', b: '10.129.0.0/16' } },
    overrides: {
      CILIUM_VERSION: '1.18.6',
      CLUSTER_A_NAME: 'east-mesh', CLUSTER_A_ID: '17', CLUSTER_A_POD_CIDR: '10.128.0.0/16', CLUSTER_A_SERVICE_CIDR: '10.200.0.0/16',
      CLUSTER_A_API_HOST: 'east-api.lab.internal', CLUSTER_A_API_PORT: '16443',
      CLUSTER_A_ECHO_IMAGE: 'registry.local/echo:east-side', CLUSTER_A_ECHO_PAGE: 'East Side',
      CLUSTER_B_NAME: 'west-mesh', CLUSTER_B_ID: '42', CLUSTER_B_POD_CIDR: '10.129.0.0/16', CLUSTER_B_SERVICE_CIDR: '10.201.0.0/16',
      CLUSTER_B_API_HOST: 'west-api.lab.internal', CLUSTER_B_API_PORT: '16444',
      CLUSTER_B_ECHO_IMAGE: 'registry.local/echo:west-side', CLUSTER_B_ECHO_PAGE: 'West Side',
      HUBBLE_UI_ENABLED: 'false', HUBBLE_METRICS: 'dns,drop,flow',
      ECHO_NAMESPACE: 'shop-demo', ECHO_NAME: 'hello-web', ECHO_REPLICAS: '2', ECHO_SERVICE_PORT: '9091', ECHO_TARGET_PORT: '8088',
    },
  });
  const n = h.net;
  // Other offsets inside this twin's 127.N net than the twin's defaults (N.254.220/221/230–249).
  setEnvVars(h, {
    CLUSTER_A_MESH_IP: `${n}.7.11`, CLUSTER_B_MESH_IP: `${n}.7.12`,
    CLUSTER_A_APP_POOL_START: `${n}.8.100`, CLUSTER_A_APP_POOL_STOP: `${n}.8.109`,
    CLUSTER_B_APP_POOL_START: `${n}.9.50`, CLUSTER_B_APP_POOL_STOP: `${n}.9.59`,
  });
  t.like(h.vars, { CLUSTER_A_CONTEXT: 'east-lab', CLUSTER_B_CONTEXT: 'west-lab' });
  const run = await h.run('all.mjs');
  t.is(run.code, 0, run.output);
  t.regex(run.output, /^9 of 9 steps passed in /m);
  const v = { ...articleVars(), ...h.vars };
  await assertEndState(t, h, v, run.output);

  // Nothing hard-coded survived: not in what was printed, not in either cluster.
  const forbidden = [...ARTICLE_VALUES, `${n}.254.`];
  const texts = { output: run.output, 'cluster A': storeText(h, 'a'), 'cluster B': storeText(h, 'b') };
  for (const [where, text] of Object.entries(texts)) {
    for (const value of forbidden) {
      const i = text.indexOf(value);
      t.is(i, -1, `${where} holds the article value "${value}": …${text.slice(Math.max(0, i - 80), i + 80)}…`);
    }
  }
  for (const k of KEYS) {
    const stray = storeNames(h, k).filter((o) => o.name === 'echo' || o.namespace === 'echo');
    t.deepEqual(stray, [], `cluster ${k}: objects named after the article's echo namespace/name`);
  }
  t.is(meshState(h.twin).clusters.a.name, 'east-mesh');
});
