// @ts-check
// The chart's certgen Job on a real-backend cluster (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok): the real Job controller runs
// it, kwok makes its pod Running, tools/real-backend/certgen-watch.mjs does
// certgen's work and ends the pod. Skipped, saying so, when a binary is not built.
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { watchCertgen } from '../../tools/real-backend/certgen-watch.mjs';
import { renderCertgen } from '../../twin/cilium/chart-certgen.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { scaled } from '../support/time.mjs';

const NS = 'kube-system';
const NODES = { count: 1, ipBase: '127.0.70.1' };
/** What certgen-watch logged (names and outcomes only). @type {string[]} */
const lines = [];
const { missing } = clusterBinaries({ nodes: NODES });
const { real, k, until } = realBackend(missing, async (dir) => {
  const c = await startCluster({ dir, key: 'a', nodes: NODES, controllers: true, readyMs: scaled(120_000), removeDir: true });
  const watch = watchCertgen({ cluster: c, log: (l) => lines.push(l) });
  return { ...c, stop: async () => { await watch.stop(); await c.stop(); } };
});

// `cilium clustermesh enable`'s TLS settings (tls.auto.method=cronJob), kvstoremesh on.
const values = {
  cluster: { name: 'cluster-a', id: 1 },
  clustermesh: { useAPIServer: true, apiserver: { kvstoremesh: { enabled: true, kvstoreMode: 'internal' }, tls: { authMode: 'migration', auto: { enabled: true, method: 'cronJob', certValidityDuration: 1095, schedule: '0 0 1 */4 *' } } } },
};
const objs = renderCertgen(values, NS, {}).map((r) => /** @type {any} */ (r.obj));
const job = objs.find((o) => o.kind === 'Job');
/** The Secrets the rendered CILIUM_CERTGEN_CONFIG asks for. @type {string[]} */
const certNames = parse(job.spec.template.spec.containers[0].env[0].value).certs.map((/** @type {any} */ c) => c.name);

/** @param {string} b64 */
const pem = (b64) => Buffer.from(b64 ?? '', 'base64').toString('utf8');

/** The Secrets of kube-system by name. @returns {Promise<Record<string, any>>} */
async function secrets() {
  const r = await k(['-n', NS, 'get', 'secrets', '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get secrets: ${r.stderr}`);
  return Object.fromEntries(JSON.parse(r.stdout).items.map((/** @type {any} */ s) => [s.metadata.name, s]));
}

/** Waits for Job `name`'s condition `type` to be True. @param {string} name @param {string} type */
const jobCondition = (name, type) => until(['-n', NS, 'get', 'job', name, '-o', `jsonpath={.status.conditions[?(@.type=="${type}")].status}`],
  (o) => o === 'True', 120_000);

/**
 * The TLS Secrets are kubernetes.io/tls with ca.crt, tls.crt, tls.key, their certificates signed by cilium-ca.
 * @param {import('ava').ExecutionContext} t @param {Record<string, any>} all
 */
function assertSignedByCa(t, all) {
  const caCert = new X509Certificate(pem(all['cilium-ca']?.data?.['ca.crt']));
  t.true(caCert.ca, 'cilium-ca holds a CA certificate');
  for (const name of certNames) {
    const s = all[name];
    t.is(s?.type, 'kubernetes.io/tls', `${name}: type`);
    t.deepEqual(Object.keys(s?.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key'], `${name}: keys`);
    t.is(s?.data?.['ca.crt'], all['cilium-ca'].data['ca.crt'], `${name} carries the CA`);
    t.true(new X509Certificate(pem(s?.data?.['tls.crt'])).verify(caCert.publicKey), `${name} is signed by cilium-ca`);
  }
}

real('the chart\'s certgen Job completes and leaves the clustermesh TLS Secrets, signed by the CA it generated', async (t) => {
  t.deepEqual(certNames.slice(0, 3), ['clustermesh-apiserver-server-cert', 'clustermesh-apiserver-admin-cert', 'clustermesh-apiserver-remote-cert']);
  const r = await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }));
  t.is(r.code, 0, r.stderr);
  await jobCondition(job.metadata.name, 'Complete');
  const pods = await k(['-n', NS, 'get', 'pods', '-l', `job-name=${job.metadata.name}`, '-o',
    'jsonpath={range .items[*]}{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}{"\\n"}{end}']);
  t.is(pods.stdout, 'Succeeded 0 Completed\n', `the certgen pod ran once and succeeded; certgen-watch said: ${lines.join(' | ')}`);
  const all = await secrets();
  t.truthy(all['cilium-ca']?.data?.['ca.key'], 'certgen stored the CA it generated');
  assertSignedByCa(t, all);
  t.regex(String(new X509Certificate(pem(all['clustermesh-apiserver-server-cert'].data['tls.crt'])).subjectAltName), /DNS:\*\.mesh\.cilium\.io/);
});

real('a second run, from the CronJob, reuses the CA and renews the certificates', async (t) => {
  const before = await secrets();
  const r = await k(['-n', NS, 'create', 'job', '--from=cronjob/clustermesh-apiserver-generate-certs', 'certgen-again']);
  t.is(r.code, 0, r.stderr);
  await jobCondition('certgen-again', 'Complete');
  const after = await secrets();
  t.is(after['cilium-ca'].data['ca.crt'], before['cilium-ca'].data['ca.crt'], 'the same CA');
  t.is(after['cilium-ca'].metadata.resourceVersion, before['cilium-ca'].metadata.resourceVersion, 'the CA Secret is not rewritten');
  for (const name of certNames) t.not(after[name].data['tls.crt'], before[name].data['tls.crt'], `${name} is renewed`);
  assertSignedByCa(t, after);
});

real('certgen without a CA it may generate fails its pod with exit code 1 and the error, and the Job fails', async (t) => {
  const failing = {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'certgen-no-ca', namespace: NS },
    spec: {
      backoffLimit: 0,
      template: { spec: {
        restartPolicy: 'Never', serviceAccountName: job.spec.template.spec.serviceAccountName,
        containers: [{ ...job.spec.template.spec.containers[0], args: ['--ca-generate=false', '--ca-reuse-secret', `--ca-secret-namespace=${NS}`, '--ca-secret-name=missing-ca'] }],
      } },
    },
  };
  const r = await k(['apply', '-f', '-'], JSON.stringify(failing));
  t.is(r.code, 0, r.stderr);
  await jobCondition('certgen-no-ca', 'Failed');
  const pod = await k(['-n', NS, 'get', 'pods', '-l', 'job-name=certgen-no-ca', '-o',
    'jsonpath={.items[0].status.phase} {.items[0].status.containerStatuses[0].state.terminated.exitCode}|{.items[0].status.containerStatuses[0].state.terminated.message}']);
  t.is(pod.stdout, 'Failed 1|failed to load CA secret: secrets "missing-ca" not found');
  t.is((await k(['-n', NS, 'get', 'secret', 'missing-ca'])).code, 1, 'no CA was generated');
});

real('certgen-watch logged one line per pod, without key material', (t) => {
  t.is(lines.filter((l) => /^certgen pod /.test(l)).length, 3, lines.join('\n'));
  t.false(lines.some((l) => /BEGIN|PRIVATE/.test(l)), 'no PEM in the log');
});
