// @ts-check
// The runbook from scratch on the real backend with a config where every value
// differs from the article's (REAL_OTHER_VARS: contexts lab-east/lab-west,
// names, ids, CIDRs, a NodePort clustermesh-apiserver, Hubble Relay and UI
// off, the echo app's namespace, name, replicas, ports, affinity and images,
// Cilium 1.18.6),
// its addresses on loopback. One `all.mjs` runs 01 to 09; then the real
// kubectl reads back what the config decides, in both clusters, and a second
// `all.mjs` must leave no mutating request in either apiserver's audit log,
// and the twin, run with the same config, must end where the real backend does.
import { backendBinaries, startBackend } from '../../tools/real-backend/backend.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { REAL_OTHER_VARS, realRunbookEnv, auditMarks, runbookWritesSince } from '../support/real-runbook.mjs';
import { e2eTwin, runScript } from '../support/e2e.mjs';
import { setEnvVars } from '../support/e2e-checks.mjs';
import { snapshot, differenceTable } from '../support/backend-diff.mjs';
import { unknownDifferences } from '../support/backend-known.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { join } from 'node:path';
import { realCilium } from '../support/real-cilium.mjs';
import { scaled } from '../support/time.mjs';
import { DRILL_ANNOTATION } from '../../scripts/lib/failover.mjs';

const V = REAL_OTHER_VARS;
/** Node IPs apart from every other real test file's; CIDRs as the config has them. */
const CLUSTERS = /** @type {const} */ ({
  a: { nodes: { count: 3, ipBase: '127.0.80.1' }, podCidr: V.CLUSTER_A_POD_CIDR, serviceCidr: V.CLUSTER_A_SERVICE_CIDR },
  b: { nodes: { count: 3, ipBase: '127.0.90.1' }, podCidr: V.CLUSTER_B_POD_CIDR, serviceCidr: V.CLUSTER_B_SERVICE_CIDR },
});
const CONTEXTS = { a: V.CLUSTER_A_CONTEXT, b: V.CLUSTER_B_CONTEXT };
const { cli } = realCilium();
const { missing } = backendBinaries();
/** @type {string[]} */
const backendLog = [];

const { real, k, cluster } = realBackend(missing, (dir) => startBackend({ dir, clusters: CLUSTERS, contexts: CONTEXTS,
  readyMs: scaled(120_000), log: (l) => backendLog.push(l) }));

/** The end of a run's output and of the backend's log, for a failure message. @param {{ output: string }} r */
const tail = (r) => `${r.output.split('\n').slice(-60).join('\n')}\nbackend:\n${backendLog.slice(-20).join('\n')}`;

/** @param {string} s a regular expression matching `s` literally */
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Each cluster with its settings. */
const SIDES = /** @type {const} */ ([
  { key: 'a', context: V.CLUSTER_A_CONTEXT, name: V.CLUSTER_A_NAME, id: V.CLUSTER_A_ID, image: V.CLUSTER_A_ECHO_IMAGE },
  { key: 'b', context: V.CLUSTER_B_CONTEXT, name: V.CLUSTER_B_NAME, id: V.CLUSTER_B_ID, image: V.CLUSTER_B_ECHO_IMAGE },
]);

/** kubectl --context `context` `args`, its stdout; fails the test with stderr when kubectl does. @param {import('ava').ExecutionContext} t @param {string} context @param {string[]} args */
async function read(t, context, args) {
  const r = await k(['--context', context, ...args]);
  t.is(r.code, 0, `kubectl --context ${context} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The environment of a step on this backend. */
const env = () => realRunbookEnv(cluster().dir, cluster().kubeconfig, { vars: V, cilium: cli?.bin });

real('a config where every value differs: all.mjs from scratch passes 9 of 9 and the clusters hold what the config says', async (t) => {
  const run = await runScript('all.mjs', [], { env: env(), timeoutMs: 900_000 });
  t.log(`all.mjs with the ${cli ? `real cilium CLI (${cli.bin})` : 'cilium stand-in'} exited ${run.code}`);
  t.is(run.code, 0, tail(run));
  t.regex(run.output, /^9 of 9 steps passed in /m, tail(run));
  t.log(run.output.split('\n').filter((l) => /^(step |\d\d |\d+ of \d+ steps)/.test(l)).join('\n'));
  // Step 09's result line: A's page after B's echo is scaled down, on the VIP that answered from B's
  // pods before: B's with affinity local or none, A's with affinity remote (A falls back to its own).
  const vip = V.ECHO_AFFINITY === 'remote' ? V.CLUSTER_A_CONTEXT : V.CLUSTER_B_CONTEXT;
  const failover = new RegExp(`^ {2}(${esc(V.CLUSTER_A_CONTEXT)} answered on ${esc(vip)}'s VIP \\d+\\.\\d+s after scale-down, \\d+ failed requests)$`, 'm')
    .exec(run.output)?.[1];
  t.truthy(failover, `no failover line for ${V.CLUSTER_A_CONTEXT} on ${vip}'s VIP in the output:\n${tail(run)}`);

  const ns = V.ECHO_NAMESPACE;
  for (const s of SIDES) {
    t.is(await read(t, s.context, ['-n', 'kube-system', 'get', 'configmap/cilium-config', '-o', 'jsonpath={.data.cluster-name} {.data.cluster-id}']),
      `${s.name} ${s.id}`, `${s.context}: cilium-config cluster-name and cluster-id`);
    t.is(await read(t, s.context, ['-n', 'kube-system', 'get', 'service/clustermesh-apiserver', '-o', 'jsonpath={.spec.type}']),
      V.MESH_SERVICE_TYPE, `${s.context}: the clustermesh-apiserver Service type`);
    const deploy = JSON.parse(await read(t, s.context, ['-n', ns, 'get', `deployment/${V.ECHO_NAME}`, '-o', 'json']));
    t.is(deploy.spec.replicas, Number(V.ECHO_REPLICAS), `${s.context}: echo replicas (B's restored after the drill)`);
    t.is(deploy.status?.readyReplicas, Number(V.ECHO_REPLICAS), `${s.context}: echo replicas ready`);
    t.is(deploy.spec.template.spec.containers[0].image, s.image, `${s.context}: echo image`);
    t.is(deploy.spec.template.spec.containers[0].ports?.[0]?.containerPort, Number(V.ECHO_TARGET_PORT), `${s.context}: echo target port`);
    const annotations = JSON.parse(await read(t, s.context, ['-n', ns, 'get', `service/${V.ECHO_NAME}`, '-o', 'jsonpath={.metadata.annotations}']));
    t.like(annotations, { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': V.ECHO_AFFINITY }, `${s.context}: global Service annotations`);
    t.is(await read(t, s.context, ['get', 'namespace/echo', '-n', 'echo', 'deployment/echo', '--ignore-not-found', '-o', 'name']), '',
      `${s.context}: nothing in the article's echo namespace`);
    const drill = deploy.metadata.annotations?.[DRILL_ANNOTATION];
    if (s.key === 'b') {
      t.regex(drill ?? '', /^passed \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: /, `${s.context}: the drill's record on the echo Deployment`);
      t.true(Boolean(failover) && String(drill).endsWith(`: ${failover}`), `${s.context}: the drill's record "${drill}" holds the reported result "${failover}"`);
    } else {
      t.is(drill, undefined, `${s.context}: only B's echo Deployment is drilled`);
    }
  }

  // The mesh over NodePorts: each cluster is configured with a node IP of the other and the other's
  // clustermesh-apiserver nodePort, where the data plane answers as that cluster.
  for (const [s, o] of [[SIDES[0], SIDES[1]], [SIDES[1], SIDES[0]]]) {
    const nodePort = await read(t, o.context, ['-n', 'kube-system', 'get', 'service/clustermesh-apiserver', '-o', 'jsonpath={.spec.ports[0].nodePort}']);
    const nodeIps = (await read(t, o.context, ['get', 'nodes', '-o', 'jsonpath={.items[*].status.addresses[?(@.type=="InternalIP")].address}'])).split(' ');
    const secret = JSON.parse(await read(t, s.context, ['-n', 'kube-system', 'get', 'secret/cilium-clustermesh', '-o', 'json']));
    const etcd = Buffer.from(secret.data?.[o.name] ?? '', 'base64').toString('utf8');
    const ep = /^- https:\/\/([\d.]+):(\d+)$/m.exec(etcd);
    if (!ep) {
      t.fail(`${s.context}: cilium-clustermesh has no endpoint for ${o.name}:\n${etcd}`);
      continue;
    }
    t.true(nodeIps.includes(ep[1]) && ep[2] === nodePort,
      `${s.context}: ${o.name} at ${ep[1]}:${ep[2]}, wanted a node IP of ${o.context} (${nodeIps.join(', ')}) and its nodePort ${nodePort}`);
    const res = await fetch(`http://${ep[1]}:${ep[2]}/twin/clustermesh`, { signal: AbortSignal.timeout(scaled(5000)) });
    t.is((await res.json()).clusterName, o.name, `the mesh endpoint ${ep[1]}:${ep[2]} answers as ${o.name}`);
  }
});

real('with that config a second all.mjs changes nothing: no mutating request from kubectl, cilium or Helm in either audit log', async (t) => {
  const b = cluster();
  const marks = auditMarks(b);
  const run = await runScript('all.mjs', [], { env: env(), timeoutMs: 900_000 });
  t.is(run.code, 0, tail(run));
  t.regex(run.output, /^9 of 9 steps passed in /m, tail(run));
  const writes = runbookWritesSince(b, marks);
  t.deepEqual(writes, [], `the second run changed the clusters:\n${writes.join('\n')}`);
});

real('the twin ends where the real backend does with that config: the difference table lists only the known differences', async (t) => {
  const realEnd = await snapshot(k, V);
  // The same settings on a twin; its addresses in its own 127.N net, at the same offsets.
  const addresses = /_(MESH_IP|APP_POOL_START|APP_POOL_STOP)$/;
  const h = await e2eTwin(t, {
    twin: { contexts: CONTEXTS, podCidr: { a: V.CLUSTER_A_POD_CIDR, b: V.CLUSTER_B_POD_CIDR },
      serviceCidr: { a: V.CLUSTER_A_SERVICE_CIDR, b: V.CLUSTER_B_SERVICE_CIDR } },
    overrides: Object.fromEntries(Object.entries(V).filter(([n]) => !addresses.test(n) && !n.endsWith('_CONTEXT'))),
  });
  setEnvVars(h, Object.fromEntries(Object.entries(V).filter(([n]) => addresses.test(n)).map(([n, ip]) => [n, ip.replace(/^127\.0\./, `${h.net}.`)])));
  const run = await h.run('all.mjs', [], { timeoutMs: 300_000 });
  t.is(run.code, 0, run.output);
  const tk = /** @type {import('../support/backend-diff.mjs').Kubectl} */ ((args) => kubectl(args, { kubeconfig: h.vars.KUBECONFIG, cacheDir: join(h.twin.dir, 'kube-cache') }));
  const twinEnd = await snapshot(tk, h.vars);
  t.log(`${realEnd.size} objects compared`);
  t.true([...realEnd.keys()].some((id) => id === `B Deployment ${V.ECHO_NAMESPACE}/${V.ECHO_NAME}`), [...realEnd.keys()].join('\n'));
  const unknown = unknownDifferences(twinEnd, realEnd, ' (other config)');
  t.deepEqual(unknown, [], `differences not listed in test/support/backend-known.mjs:\n${differenceTable(unknown)}`);
});
