// @ts-check
// The first slice of the runbook on the real backend: two real-backend
// clusters (kubeconfig contexts cluster-a and cluster-b, as `npm run real`),
// the real kubectl and a cilium CLI: the real one when there is one
// (RUNBOOK_REAL_CILIUM or npm run build:cilium's cache), else the project's
// stand-in (twin/bin/cilium, a plain client of the API). Step 01 runs as a user
// runs it. The backend runs the real cilium-operator when the chart's operator
// Deployment appears (as a kubelet would run its pod). How far it gets today:
// the install reaches the real apiserver and the real operator registers
// Cilium's CRDs; the step does not finish (the failing test below): with the
// stand-in, its chart renders no ServiceAccounts and the real controllers
// create no pods without them; with the real CLI, the pods run (kwok) but
// `cilium status` cannot exec into the agents (no kubelet answers exec).
import test from 'ava';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { watchOperator } from '../../tools/real-backend/operator-watch.mjs';
import { realBinary } from '../../tools/build-real.mjs';
import { renderKubeconfig, writeKubeconfig } from '../../twin/kubeconfig.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { runScript } from '../support/e2e.mjs';
import { realCilium, realCiliumDir } from '../support/real-cilium.mjs';
import { scaled } from '../support/time.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLUSTERS = /** @type {const} */ ({
  a: { nodes: { count: 3, ipBase: '127.0.50.1' }, podCidr: '10.42.0.0/16', serviceCidr: '10.96.0.0/12' },
  b: { nodes: { count: 3, ipBase: '127.0.60.1' }, podCidr: '10.43.0.0/16', serviceCidr: '10.112.0.0/12' },
});
const { cli } = realCilium();
const operator = realBinary('cilium-operator-generic');
const missing = [...clusterBinaries({ nodes: true }).missing, ...(operator.built ? [] : [`${operator.bin} ${operator.version}`])];
/** @type {string[]} */
const backendLog = [];

const { real, k, until, cluster } = realBackend(missing, async (dir) => {
  /** @type {import('../../tools/real-backend/cluster.mjs').RealCluster[]} */
  const up = [];
  /** @type {ReturnType<typeof watchOperator>[]} */
  const watchers = [];
  const stop = async () => {
    for (const w of watchers) await w.stop();
    for (const c of up) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [key, c] of Object.entries(CLUSTERS)) {
      up.push(await startCluster({ dir: join(dir, key), key, ...c, readyMs: scaled(120_000), removeDir: true }));
    }
    for (const c of up) {
      watchers.push(watchOperator({ cluster: c, bin: operator.path, host: '127.0.0.1', readyMs: scaled(120_000),
        log: (l) => backendLog.push(`${c.dir}: ${l}`) }));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  await writeKubeconfig(kubeconfig, renderKubeconfig(up.map((c, i) => ({
    name: `cluster-${Object.keys(CLUSTERS)[i]}`, server: c.server, caCert: c.pki.caCert, clientCert: c.pki.clientCert, clientKey: c.pki.clientKey,
  })), 'cluster-a'));
  return { ...up[0], dir, kubeconfig, stop };
});

/**
 * The env file a user writes for this backend (as twin/runbook-env.mjs's twinEnv
 * for a twin): its kubeconfig and contexts, loopback LB addresses, short timeouts.
 * @param {string} dir @param {string} kubeconfig
 */
function runbookEnv(dir, kubeconfig) {
  const vars = {
    KUBECONFIG: kubeconfig, CLUSTER_A_CONTEXT: 'cluster-a', CLUSTER_B_CONTEXT: 'cluster-b',
    CLUSTER_A_API_HOST: 'k3s-a-server', CLUSTER_A_API_PORT: '6443', CLUSTER_B_API_HOST: 'k3s-b-server', CLUSTER_B_API_PORT: '6443',
    CLUSTER_A_POD_CIDR: CLUSTERS.a.podCidr, CLUSTER_A_SERVICE_CIDR: CLUSTERS.a.serviceCidr,
    CLUSTER_B_POD_CIDR: CLUSTERS.b.podCidr, CLUSTER_B_SERVICE_CIDR: CLUSTERS.b.serviceCidr,
    CLUSTER_A_MESH_IP: '127.0.254.220', CLUSTER_B_MESH_IP: '127.0.254.221',
    CLUSTER_A_APP_POOL_START: '127.0.254.230', CLUSTER_A_APP_POOL_STOP: '127.0.254.239',
    CLUSTER_B_APP_POOL_START: '127.0.254.240', CLUSTER_B_APP_POOL_STOP: '127.0.254.249',
    ECHO_SERVICE_PORT: '8080', TIMEOUT_CILIUM: '30s', TIMEOUT_RESOURCES: '30s', TIMEOUT_MESH: '30s', TIMEOUT_ROLLOUT: '30s',
    TIMEOUT_HTTP: '2s', TIMEOUT_FAILOVER: '30s',
  };
  const file = join(dir, 'runbook.env');
  writeFileSync(file, Object.entries(vars).map(([n, v]) => `${n}=${v}\n`).join(''), { mode: 0o600 });
  const env = Object.fromEntries(Object.entries(process.env).filter(([n]) => !/^(CLUSTER_[AB]_|CILIUM|MESH_|HUBBLE_|ECHO_|TIMEOUT_)/.test(n)));
  const diagnostics = join(dir, 'diagnostics');
  mkdirSync(diagnostics, { recursive: true });
  return { ...env, RUNBOOK_ENV: file, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, 'kube-cache'), RUNBOOK_DIAGNOSTICS_DIR: diagnostics,
    PATH: [cli?.bin ? realCiliumDir(dir, cli.bin) : join(ROOT, 'twin', 'bin'), join(ROOT, '.tools', 'bin'), process.env.PATH ?? ''].join(delimiter) };
}

/** @type {import('../support/e2e.mjs').RunResult | undefined} */
let step01;

real('step 01\'s cilium install puts the Helm release, cilium-config and the operator Deployment on the real apiserver', async (t) => {
  const c = cluster();
  step01 = await runScript('01-install-a.mjs', [], { env: runbookEnv(c.dir, c.kubeconfig), timeoutMs: 240_000 });
  t.log(`step 01 with the ${cli ? `real cilium CLI (${cli.bin})` : 'cilium stand-in'} exited ${step01.code}; its last lines:\n${step01.output.trimEnd().split('\n').slice(-6).join('\n')}`);
  const r = await k(['--context', 'cluster-a', '-n', 'kube-system', 'get', 'secret/sh.helm.release.v1.cilium.v1', 'configmap/cilium-config',
    'deployment/cilium-operator', 'daemonset/cilium', '-o', 'name']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'),
    ['secret/sh.helm.release.v1.cilium.v1', 'configmap/cilium-config', 'deployment.apps/cilium-operator', 'daemonset.apps/cilium']);
  const name = await k(['--context', 'cluster-a', '-n', 'kube-system', 'get', 'configmap/cilium-config', '-o', 'jsonpath={.data.cluster-name} {.data.cluster-id}']);
  t.is(name.stdout, 'cluster-a 1');
});

real('the backend runs the real operator for the Deployment, with the chart\'s cilium-config: Cilium\'s CRDs are registered', async (t) => {
  const want = ['ciliumloadbalancerippools.cilium.io', 'ciliuml2announcementpolicies.cilium.io', 'ciliumidentities.cilium.io'];
  const out = await until(['--context', 'cluster-a', 'get', 'crd', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'],
    (o) => want.every((n) => o.split('\n').includes(n)), 90_000);
  t.true(want.every((n) => out.split('\n').includes(n)), out);
  t.true(backendLog.some((l) => /cilium-operator-generic started for the Deployment .*cluster cluster-a\)/.test(l)), backendLog.join('\n'));
});

// Known gap, the next step of issue 11 (see the top of this file): step 01
// waits for Cilium in vain.
(missing.length ? test.serial.skip : test.serial.failing)('step 01 ends with Cilium and the operator OK on the real backend', async (t) => {
  const events = await k(['--context', 'cluster-a', '-n', 'kube-system', 'get', 'events', '--field-selector', 'reason=FailedCreate',
    '-o', 'jsonpath={range .items[*]}{.involvedObject.name}: {.message}{"\\n"}{end}']);
  t.log(`FailedCreate events on cluster-a:\n${events.stdout || '(none)'}`);
  t.log(`step 01's errors:\n${step01?.output.split('\n').filter((l) => /Error|error/.test(l)).slice(0, 8).join('\n')}`);
  t.is(step01?.code, 0, step01?.output.split('\n').slice(-30).join('\n'));
});
