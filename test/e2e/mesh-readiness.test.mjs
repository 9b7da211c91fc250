// @ts-check
// Step 07 and `npm run status` on a mesh that is not ready yet, and on a peer
// named "default". `cilium clustermesh status -o json` exits 1 at once, with no
// JSON, while the clustermesh-apiserver Service has no LoadBalancer IP or its
// Deployment rolls out: the runbook says "not ready yet" and what is missing,
// never a tool error. `clustermesh connect` refuses a remote cluster named
// "default" with "remote cluster has non-unique name (default) …": the hint is
// the default-name one, not "the names must differ".
import { e2eTwin } from '../support/e2e.mjs';
import { testWithEachCli } from '../support/cilium-cli.mjs';
import { until } from '../support/end-state.mjs';
import { makeConfig } from '../support/config-fixture.mjs';
import { STEPS } from '../../scripts/steps.mjs';
import { BROKEN_ANNOTATION } from '../../twin/controllers/workloads.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */

const APISERVER = 'clustermesh-apiserver';

/** The "mesh: …" line of status's output. @param {string} output */
const meshLine = (output) => output.split('\n').find((l) => l.startsWith('mesh: ')) ?? '';

/**
 * Changes one object in a twin's store, as a controller would.
 * @param {E2E} h @param {'a' | 'b'} k @param {string} resource @param {string} ns @param {string} name
 * @param {(o: any) => any} change
 */
function edit(h, k, resource, ns, name, change) {
  const store = h.store(k);
  store.update(resource, change(structuredClone(store.get(resource, ns, name))));
}

/** @param {E2E} h */
const meshIpOfB = (h) => h.store('b').get('/services', 'kube-system', APISERVER)?.status?.loadBalancer?.ingress?.[0]?.ip;

testWithEachCli('07 and status: a mesh not ready yet (no LB IP, a rollout) is said so; a peer named "default" gets the default-name hint', async (t, cli) => {
  const h = await e2eTwin(t, { cilium: cli.bin });
  for (const step of STEPS.filter((s) => s.id <= '06')) {
    const run = await h.run(`${step.name}.mjs`);
    t.is(run.code, 0, `${step.name}:\n${run.output}`);
  }
  const config = makeConfig(h.vars);

  // B's clustermesh-apiserver loses its IP: it asks for one that no pool holds.
  const IPS = 'lbipam.cilium.io/ips';
  edit(h, 'b', '/services', 'kube-system', APISERVER, (svc) => ({ ...svc, metadata: { ...svc.metadata, annotations: { ...svc.metadata.annotations, [IPS]: `${h.net}.99.99` } } }));
  await until(() => !meshIpOfB(h), 'B\'s clustermesh-apiserver to lose its IP', 30_000);
  const noIp = 'ClusterMesh is not ready yet: on cluster-b the clustermesh-apiserver Service has no address yet (no LoadBalancer IP)';
  const connect = await h.run('07-clustermesh-connect.mjs');
  t.not(connect.code, 0, connect.output);
  t.true(connect.output.includes(`${noIp}. Run step 06 (npm run 06), which waits for it, then this step again.`), connect.output);
  t.notRegex(connect.output, /Unable to determine status/, 'no tool error');
  const status = await h.run('status.mjs');
  t.is(status.code, 3, status.output);
  t.true(meshLine(status.output).startsWith(`mesh: ${noIp}`), status.output);

  edit(h, 'b', '/services', 'kube-system', APISERVER, (svc) => {
    delete svc.metadata.annotations[IPS];
    return svc;
  });
  await until(() => meshIpOfB(h) === config.b.meshIp, 'B\'s clustermesh-apiserver to get its IP back', 30_000);

  // B installed as "default" (as a K3s kubeconfig would name it): connect refuses the remote cluster.
  /** @type {string} */
  let name = '';
  edit(h, 'b', '/configmaps', 'kube-system', 'cilium-config', (cm) => { name = cm.data['cluster-name']; return { ...cm, data: { ...cm.data, 'cluster-name': 'default' } }; });
  const named = await h.run('07-clustermesh-connect.mjs');
  t.not(named.code, 0, named.output);
  t.regex(named.output, /remote cluster has non-unique name \(default\)/);
  t.regex(named.output, /hint: a cluster is installed with the name "default"/);
  t.notRegex(named.output, /must differ/);
  edit(h, 'b', '/configmaps', 'kube-system', 'cilium-config', (cm) => ({ ...cm, data: { ...cm.data, 'cluster-name': name } }));

  const connected = await h.run('07-clustermesh-connect.mjs');
  t.is(connected.code, 0, connected.output);

  // B's clustermesh-apiserver rolls out and its new pod does not get ready.
  edit(h, 'b', 'apps/deployments', 'kube-system', APISERVER, (d) => {
    d.metadata.annotations = { ...d.metadata.annotations, [BROKEN_ANNOTATION]: 'test: the new pod crash-loops' };
    d.spec.template.metadata.annotations = { ...d.spec.template.metadata.annotations, 'test/restartedAt': new Date().toISOString() };
    return d;
  });
  await until(() => {
    const d = h.store('b').get('apps/deployments', 'kube-system', APISERVER);
    return (d?.status?.observedGeneration ?? 0) >= (d?.metadata.generation ?? 1) && (d?.status?.updatedReplicas ?? 0) > 0 &&
      (d?.status?.unavailableReplicas ?? 0) > 0;
  }, 'the rollout to start', 30_000);
  const rolling = await h.run('status.mjs');
  t.is(rolling.code, 3, rolling.output);
  t.regex(meshLine(rolling.output), /^mesh: connected in the settings; ClusterMesh is not ready yet: on cluster-b the clustermesh-apiserver Deployment is not ready \(.+\)/, rolling.output);

  // A rerun of 07 meanwhile waits for it (the check leaves it to its verify), and ends done once the rollout does.
  const rerun = await h.run('07-clustermesh-connect.mjs', [], {
    onOutput: (out) => {
      if (/\$ cilium clustermesh status --context cluster-b --wait/.test(out)) {
        const d = h.store('b').get('apps/deployments', 'kube-system', APISERVER);
        if (d?.metadata.annotations?.[BROKEN_ANNOTATION]) {
          edit(h, 'b', 'apps/deployments', 'kube-system', APISERVER, (x) => {
            delete x.metadata.annotations[BROKEN_ANNOTATION];
            return x;
          });
        }
      }
    },
  });
  t.is(rerun.code, 0, rerun.output);
  t.regex(rerun.output, /✔ ok +Connect cluster-a and cluster-b — cluster-a ⇄ cluster-b connected$/m);
});
