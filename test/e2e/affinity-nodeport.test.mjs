// @ts-check
// The settings beside the article's (issue 8): ECHO_AFFINITY=remote and
// MESH_SERVICE_TYPE=NodePort, each through npm run all, a re-run, status (and
// for NodePort the teardown), read from the twin's stores and real HTTP to the
// VIPs. Heavy: one full run each, so serial.
import test from 'ava';
import { e2eTwin } from '../support/e2e.mjs';
import { httpGet, resetRequests, nonGetRequests } from '../support/e2e-checks.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { makeConfig } from '../support/config-fixture.mjs';
import { meshState } from '../../twin/controllers/index.mjs';
import { DRILL_ANNOTATION } from '../../scripts/lib/failover.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */

/** @param {string} s */
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The echo VIP of a cluster, as the twin holds it. @param {E2E} h @param {'a' | 'b'} k @param {import('../../scripts/lib/types.js').Config} config */
const vipOf = (h, k, config) => h.store(k).get('/services', config.echo.namespace, config.echo.name)?.status?.loadBalancer?.ingress?.[0]?.ip ?? '';

test.serial('ECHO_AFFINITY=remote: npm run all deploys both echos before asking the VIPs, each VIP answers from the other cluster, the drill watches A\'s VIP fall back, a re-run changes nothing', async (t) => {
  const h = await e2eTwin(t, { overrides: { ECHO_AFFINITY: 'remote' } });
  const config = makeConfig(h.vars);
  const { a, b } = config;

  // The transcript: both deployments before either VIP is asked, and the drill's VIP answering from B first.
  const script = (await h.run('all.mjs', ['--transcript'])).stdout;
  const deployB = script.indexOf(`# Echo app (${b.echoImage}) and global Service`);
  const askA = script.indexOf(`# ${a.context}'s echo VIP answers with "${b.echoPage}"`);
  t.true(deployB > 0 && askA > deployB, "B's echo is deployed before A's VIP is asked for B's page");
  t.regex(script, /# affinity remote: the other cluster's pods answer/);
  t.notRegex(script, /affinity: local/);
  t.regex(script, new RegExp(`# ${esc(a.context)}'s VIP answers from ${esc(b.context)}'s pods first`));

  const run = await h.run('all.mjs');
  t.is(run.code, 0, run.output);
  t.regex(run.output, /^9 of 9 steps passed in /m);
  // Real HTTP: each VIP answers with the other cluster's page.
  for (const [k, other] of /** @type {const} */ ([['a', b], ['b', a]])) {
    const page = await httpGet(vipOf(h, k, config), config.echo.servicePort);
    t.true(page.body.includes(other.echoPage), `${k}'s VIP: ${JSON.stringify(page.body)}`);
  }
  // The drill watched A's VIP (B's answers from A all along with remote affinity).
  const drill = new RegExp(`^ {2}(${esc(a.context)} answered on ${esc(a.context)}'s VIP \\d+\\.\\d+s after scale-down, \\d+ failed requests)$`, 'm').exec(run.output);
  t.truthy(drill, run.output);
  t.regex(run.output, new RegExp(`Failover: ${esc(a.context)}'s echo VIP keeps answering, from ${esc(a.context)}, while ${esc(b.context)} has no echo pods`));
  const record = h.store('b').get('apps/deployments', config.echo.namespace, config.echo.name)?.metadata.annotations?.[DRILL_ANNOTATION] ?? '';
  t.true(Boolean(drill) && record.endsWith(`: ${drill?.[1]}`), record);
  t.is(h.store('b').get('apps/deployments', config.echo.namespace, config.echo.name)?.spec.replicas, config.echo.replicas, 'B restored');

  resetRequests(h);
  const again = await h.run('all.mjs');
  t.is(again.code, 0, again.output);
  t.deepEqual(nonGetRequests(h), [], 'the re-run changes nothing');
});

test.serial('MESH_SERVICE_TYPE=NodePort with no mesh IPs: no mesh pool, the mesh connects, status agrees, a half-removed echo is named in status, teardown works', async (t) => {
  const h = await e2eTwin(t, { overrides: { MESH_SERVICE_TYPE: 'NodePort', CLUSTER_A_MESH_IP: '', CLUSTER_B_MESH_IP: '' } });
  const config = makeConfig(h.vars);
  const run = await h.run('all.mjs');
  t.is(run.code, 0, run.output);
  t.regex(run.output, /^9 of 9 steps passed in /m);
  for (const k of /** @type {const} */ (['a', 'b'])) {
    const store = h.store(k);
    t.deepEqual(store.list('cilium.io/ciliumloadbalancerippools').map((p) => p.metadata.name), ['app-pool'], `${k}: the app pool only`);
    t.deepEqual(store.list('cilium.io/ciliuml2announcementpolicies').map((p) => p.metadata.name), ['l2-policy'], `${k}: the L2 policy`);
    t.is(store.get('/services', 'kube-system', 'clustermesh-apiserver')?.spec.type, 'NodePort');
    t.truthy(vipOf(h, k, config), `${k}: echo has its VIP`);
  }
  t.true(meshState(h.twin).connected, meshState(h.twin).reasons.join('; '));

  const status = await h.run('status.mjs');
  t.is(status.code, 0, status.output);
  t.regex(status.output, /^9 of 9 steps done$/m);

  // Step 08 half undone: B's echo Service gone. Status names what is missing, not kubectl's error.
  const del = await kubectl(['delete', 'svc', '-n', config.echo.namespace, config.echo.name], {
    kubeconfig: h.vars.KUBECONFIG, cacheDir: String(h.env.KUBECACHEDIR), context: config.b.context,
  });
  t.is(del.code, 0, del.stderr);
  const half = await h.run('status.mjs');
  t.is(half.code, 3, half.output);
  t.regex(half.output, /^\S 08 .* partly done — missing: /m);
  const b = esc(config.b.context);
  t.regex(half.output, new RegExp(`^${b}'s echo VIP: echo is not deployed on ${b} yet: no Service ${config.echo.namespace}/${config.echo.name} \\(step 08 deploys it\\)$`, 'm'));
  t.notRegex(half.output, /Error from server|NotFound|error:/i);

  const down = await h.run('10-teardown.mjs', ['--yes']);
  t.is(down.code, 0, down.output);
  for (const k of /** @type {const} */ (['a', 'b'])) {
    t.deepEqual(h.store(k).list('cilium.io/ciliumloadbalancerippools'), [], `${k}: no pool left`);
  }
});
