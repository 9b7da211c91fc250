// @ts-check
// The kubelet's volume rule in the twin, with the real kubectl: a pod whose
// Secret or ConfigMap volume cannot mount stays ContainerCreating with a
// Warning FailedMount, and starts once the object exists; optional volumes do
// not hold a pod back. Pods are host-network so that no CNI is needed.
import test from 'ava';
import { twinForTest } from '../support/twin-harness.mjs';
import { waitFor, scaledSeconds } from '../support/time.mjs';
import { volumes, deployment } from '../support/volume-fixtures.mjs';

const DELAYS = { podReadyMs: 50, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 };

/** The pod of these tests. */
const POD = { image: 'nginx:1.27', hostNetwork: true };

/**
 * @param {import('../support/twin-harness.mjs').TestTwin['kubectl']} kubectl
 * @param {string[]} args @returns {Promise<any>}
 */
async function getJson(kubectl, args) {
  const r = await kubectl(['get', ...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('a Deployment whose Secret and ConfigMap are missing waits with FailedMount, and starts once they exist', async (t) => {
  const { kubectl } = await twinForTest(t, { controllers: true, delays: DELAYS });
  const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment('web', volumes(false), POD)) });
  t.is(applied.code, 0, applied.stderr);

  /** FailedMount messages on the Deployment's pod. @param {string} pod */
  const failedMounts = async (pod) => (await getJson(kubectl, ['events'])).items
    .filter((/** @type {any} */ e) => e.involvedObject?.name === pod && e.reason === 'FailedMount');
  const pod = await waitFor(async () => {
    const p = (await getJson(kubectl, ['pods', '-l', 'app=web'])).items[0];
    return p && (await failedMounts(p.metadata.name)).length === 2 ? p : undefined;
  }, 'FailedMount events for both volumes of the pod', 20_000, 100);
  const events = await failedMounts(pod.metadata.name);
  t.deepEqual(events.map((/** @type {any} */ e) => e.message).sort(), [
    'MountVolume.SetUp failed for volume "conf" : configmap "web-conf" not found',
    'MountVolume.SetUp failed for volume "tls" : secret "web-tls" not found',
  ], 'the kubelet\'s messages; kube-root-ca.crt is not asked for');
  for (const e of events) {
    t.is(e.type, 'Warning');
    t.is(e.source?.component, 'kubelet');
    t.is(e.involvedObject.kind, 'Pod');
  }
  const now = (await getJson(kubectl, ['pods', pod.metadata.name]));
  t.is(now.status.phase, 'Pending', 'the pod has not started');
  t.is(now.spec.nodeName, pod.spec.nodeName);
  t.truthy(now.spec.nodeName, 'the pod is bound to a node');
  t.deepEqual(now.status.containerStatuses.map((/** @type {any} */ c) => c.state.waiting?.reason), ['ContainerCreating']);
  const d = await getJson(kubectl, ['deployment', 'web']);
  t.is(d.status.availableReplicas ?? 0, 0, 'the Deployment has no available replica');
  t.is(d.status.conditions.find((/** @type {any} */ c) => c.type === 'Available')?.status, 'False');

  t.is((await kubectl(['create', 'secret', 'generic', 'web-tls', '--from-literal=tls.crt=x'])).code, 0);
  const stillWaiting = await getJson(kubectl, ['pods', pod.metadata.name]);
  t.is(stillWaiting.status.phase, 'Pending', 'the ConfigMap is still missing');

  t.is((await kubectl(['create', 'configmap', 'web-conf', '--from-literal=a=b'])).code, 0);
  const w = await kubectl(['wait', '--for=condition=available', 'deployment/web', `--timeout=${scaledSeconds(30)}`]);
  t.is(w.code, 0, `the Deployment became available once both objects existed: ${w.stderr}`);
  const running = await getJson(kubectl, ['pods', pod.metadata.name]);
  t.is(running.status.phase, 'Running');
  t.truthy(running.status.containerStatuses[0].state.running, 'the container runs');
});

test('optional Secret and ConfigMap volumes do not hold a pod back', async (t) => {
  const { kubectl } = await twinForTest(t, { controllers: true, delays: DELAYS });
  const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment('opt', volumes(true), POD)) });
  t.is(applied.code, 0, applied.stderr);
  const w = await kubectl(['wait', '--for=condition=available', 'deployment/opt', `--timeout=${scaledSeconds(30)}`]);
  t.is(w.code, 0, `the Deployment became available without the objects: ${w.stderr}`);
  const events = (await getJson(kubectl, ['events'])).items.filter((/** @type {any} */ e) => e.reason === 'FailedMount');
  t.deepEqual(events, [], 'no FailedMount');
});

test('a Job pod whose Secret is missing waits, and runs to completion once it exists', async (t) => {
  const { kubectl } = await twinForTest(t, { controllers: true, delays: DELAYS });
  const job = {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once', namespace: 'default' },
    spec: {
      template: {
        spec: {
          restartPolicy: 'Never', hostNetwork: true, volumes: [{ name: 'tls', secret: { secretName: 'job-tls' } }],
          containers: [{ name: 'main', image: 'busybox:1.36', volumeMounts: [{ name: 'tls', mountPath: '/tls' }] }],
        },
      },
    },
  };
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(job) })).code, 0);
  const event = await waitFor(async () => (await getJson(kubectl, ['events'])).items
    .find((/** @type {any} */ e) => e.reason === 'FailedMount'), 'a FailedMount event', 20_000, 100);
  t.is(event.message, 'MountVolume.SetUp failed for volume "tls" : secret "job-tls" not found');
  const pods = (await getJson(kubectl, ['pods', '-l', 'job-name=once'])).items;
  t.deepEqual(pods.map((/** @type {any} */ p) => p.status.phase), ['Pending'], 'the Job\'s pod has not started');
  t.is(pods[0].status.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerCreating');

  t.is((await kubectl(['create', 'secret', 'generic', 'job-tls', '--from-literal=k=v'])).code, 0);
  const w = await kubectl(['wait', '--for=condition=complete', 'job/once', `--timeout=${scaledSeconds(30)}`]);
  t.is(w.code, 0, `the Job completed once the Secret existed: ${w.stderr}`);
});
