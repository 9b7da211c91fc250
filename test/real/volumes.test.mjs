// @ts-check
// The kubelet's volume rule on a real-backend cluster (kwok's pod-running stage
// gated by tools/real-backend/volume-gate.mjs), with the real kubectl: a pod
// whose Secret or ConfigMap volume cannot mount stays ContainerCreating with a
// Warning FailedMount from the kubelet, and starts once the objects exist;
// optional volumes and pods without such volumes start at once.
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { scaled, scaledSeconds } from '../support/time.mjs';
import { volumes, deployment } from '../support/volume-fixtures.mjs';

const NODES = { count: 1, ipBase: '127.0.100.1' };
const { missing } = clusterBinaries({ nodes: NODES });
const { real, k, until } = realBackend(missing, (dir) => startCluster({ dir, key: 'a', nodes: NODES, readyMs: scaled(120_000), removeDir: true }));

/** The pod of these tests. */
const POD = { image: 'registry.k8s.io/pause:3.10' };

/** @param {string[]} args @returns {Promise<any>} */
async function getJson(args) {
  const r = await k(['get', ...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** FailedMount events on pod `name`. @param {string} name */
const failedMounts = async (name) => (await getJson(['events'])).items
  .filter((/** @type {any} */ e) => e.involvedObject?.name === name && e.reason === 'FailedMount');

real('a Deployment whose Secret and ConfigMap are missing waits with FailedMount, and starts once they exist', async (t) => {
  const applied = await k(['apply', '-f', '-'], JSON.stringify(deployment('web', volumes(false), POD)));
  t.is(applied.code, 0, applied.stderr);
  const podName = (await until(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'], (o) => o !== '')).trim();
  await until(['get', 'events', '-o', 'jsonpath={range .items[*]}{.involvedObject.name} {.reason}{"\\n"}{end}'],
    (o) => o.split('\n').filter((l) => l === `${podName} FailedMount`).length === 2);
  const events = await failedMounts(podName);
  t.deepEqual(events.map((/** @type {any} */ e) => e.message).sort(), [
    'MountVolume.SetUp failed for volume "conf" : configmap "web-conf" not found',
    'MountVolume.SetUp failed for volume "tls" : secret "web-tls" not found',
  ], 'the kubelet\'s messages; kube-root-ca.crt exists and is not missed');
  for (const e of events) {
    t.is(e.type, 'Warning');
    t.is(e.source?.component, 'kubelet');
    t.is(e.involvedObject.kind, 'Pod');
  }
  const pod = await getJson(['pod', podName]);
  t.is(pod.status.phase, 'Pending', 'the pod has not started');
  t.truthy(pod.spec.nodeName, 'the pod is bound to a node');
  t.deepEqual(pod.status.containerStatuses?.map((/** @type {any} */ c) => c.state.waiting?.reason), ['ContainerCreating']);
  const d = await getJson(['deployment', 'web']);
  t.is(d.status.availableReplicas ?? 0, 0, 'the Deployment has no available replica');

  t.is((await k(['create', 'secret', 'generic', 'web-tls', '--from-literal=tls.crt=x'])).code, 0);
  t.is((await getJson(['pod', podName])).status.phase, 'Pending', 'the ConfigMap is still missing');

  t.is((await k(['create', 'configmap', 'web-conf', '--from-literal=a=b'])).code, 0);
  const w = await k(['wait', '--for=condition=available', 'deployment/web', `--timeout=${scaledSeconds(60)}`]);
  t.is(w.code, 0, `the Deployment became available once both objects existed: ${w.stderr}`);
  const running = await getJson(['pod', podName]);
  t.is(running.status.phase, 'Running');
  t.truthy(running.status.containerStatuses[0].state.running, 'the container runs');
});

real('optional Secret and ConfigMap volumes do not hold a pod back', async (t) => {
  const vols = volumes(true).map((v) => JSON.parse(JSON.stringify(v).replaceAll('web-', 'opt-')));
  const applied = await k(['apply', '-f', '-'], JSON.stringify(deployment('opt', vols, POD)));
  t.is(applied.code, 0, applied.stderr);
  const w = await k(['wait', '--for=condition=available', 'deployment/opt', `--timeout=${scaledSeconds(60)}`]);
  t.is(w.code, 0, `the Deployment became available without the objects: ${w.stderr}`);
  const podName = (await k(['get', 'pods', '-l', 'app=opt', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout.trim();
  t.deepEqual(await failedMounts(podName), [], 'no FailedMount');
});

real('a pod without Secret or ConfigMap volumes of its own gets Running', async (t) => {
  const r = await k(['run', 'plain', '--image=registry.k8s.io/pause:3.10']);
  t.is(r.code, 0, r.stderr);
  const phase = await until(['get', 'pod', 'plain', '-o', 'jsonpath={.status.phase}'], (o) => o === 'Running');
  t.is(phase, 'Running');
  const pod = await getJson(['pod', 'plain']);
  t.true(pod.spec.volumes.some((/** @type {any} */ v) => v.projected?.sources?.some((/** @type {any} */ s) => s.configMap?.name === 'kube-root-ca.crt')),
    'it has the service-account volume with kube-root-ca.crt');
  t.falsy(pod.metadata.annotations?.['twin.runbook/volumes-mounted'], 'kwok started it without the gate');
});
