// @ts-check
// Deployments, DaemonSets and pods: readiness, the CNI rule, scaling, rollouts.
import test from 'ava';
import { startControllers } from '../../twin/controllers/index.mjs';
import { deployment, fakeTwin, installCilium } from '../../twin/controllers/testkit.mjs';
import { waitFor } from '../support/time.mjs';

/** @typedef {import('../../twin/store/types.js').KubeObject} KubeObject */

/**
 * kubectl's rollout status for a Deployment (polymorphichelpers/rollout_status.go):
 * returns a waiting message, or '' when the rollout is complete.
 * @param {KubeObject | undefined} d
 */
function rolloutStatus(d) {
  if (!d) return 'no deployment';
  const st = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (st.observedGeneration ?? 0)) return 'Waiting for deployment spec update to be observed...';
  const progressing = (st.conditions ?? []).find((/** @type {any} */ c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return 'exceeded its progress deadline';
  const replicas = d.spec.replicas ?? 1;
  if ((st.updatedReplicas ?? 0) < replicas) return `${st.updatedReplicas ?? 0} out of ${replicas} new replicas have been updated`;
  if ((st.replicas ?? 0) > (st.updatedReplicas ?? 0)) return `${(st.replicas ?? 0) - (st.updatedReplicas ?? 0)} old replicas are pending termination`;
  if ((st.availableReplicas ?? 0) < (st.updatedReplicas ?? 0)) return `${st.availableReplicas ?? 0} of ${st.updatedReplicas} updated replicas are available`;
  return '';
}

/**
 * Pods owned by the DaemonSet `prefix` or a ReplicaSet of Deployment `prefix`.
 * @param {import('../../twin/types.js').Twin} twin @param {'a'|'b'} key @param {string} ns @param {string} prefix
 * @returns {any[]}
 */
const podsOf = (twin, key, ns, prefix) => twin.clusters[key].store.list('/pods', ns)
  .filter((p) => (p.metadata.ownerReferences ?? []).some((/** @type {any} */ r) =>
    r.name === prefix || (r.kind === 'ReplicaSet' && r.name.startsWith(`${prefix}-`) && r.name.split('-').length === prefix.split('-').length + 1)));

/** @param {KubeObject} p */
const ready = (p) => p.status?.conditions?.some((/** @type {any} */ c) => c.type === 'Ready' && c.status === 'True');

/** The scheduler has looked at the pod and found no node for it (what must not happen next had its chance). @param {KubeObject} p */
const unschedulable = (p) => p.status?.conditions?.some((/** @type {any} */ c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');

test('a Deployment of host-network pods becomes ready without a CNI, with pods, a ReplicaSet and status', async (t) => {
  const twin = fakeTwin({ nodeCount: 3 });
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  const s = twin.clusters.a.store;
  s.create('apps/deployments', deployment('kube-system', 'cilium-operator', { hostNetwork: true, replicas: 2 }));

  const d = await waitFor(() => {
    const x = s.get('apps/deployments', 'kube-system', 'cilium-operator');
    return x && rolloutStatus(x) === '' ? x : undefined;
  }, 'rollout');
  t.is(d.status.observedGeneration, d.metadata.generation);
  t.is(d.status.replicas, 2);
  t.is(d.status.updatedReplicas, 2);
  t.is(d.status.readyReplicas, 2);
  t.is(d.status.availableReplicas, 2);
  t.false('unavailableReplicas' in d.status, 'zero counters are omitted like the real API');
  const available = d.status.conditions.find((/** @type {any} */ c) => c.type === 'Available');
  t.like(available, { status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
  const progressing = d.status.conditions.find((/** @type {any} */ c) => c.type === 'Progressing');
  t.is(progressing.reason, 'NewReplicaSetAvailable');
  t.regex(progressing.message, /^ReplicaSet "cilium-operator-[bcdfghjklmnpqrstvwxz2456789]{1,10}" has successfully progressed\.$/);

  const pods = podsOf(twin, 'a', 'kube-system', 'cilium-operator');
  t.is(pods.length, 2);
  for (const p of pods) {
    t.regex(p.metadata.name, /^cilium-operator-[bcdfghjklmnpqrstvwxz2456789]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    t.is(p.status.phase, 'Running');
    t.true(ready(p));
    t.is(p.metadata.labels.app, 'cilium-operator');
    t.truthy(p.metadata.labels['pod-template-hash']);
    t.true(p.metadata.name.startsWith(`cilium-operator-${p.metadata.labels['pod-template-hash']}-`));
    const node = twin.clusters.a.nodes.find((n) => n.name === p.spec.nodeName);
    t.truthy(node);
    t.is(p.status.podIP, node?.ip, 'host-network pods carry the node IP');
  }
  t.not(pods[0].spec.nodeName, pods[1].spec.nodeName, 'pods are spread over the nodes');
  const rs = s.list('apps/replicasets', 'kube-system');
  t.is(rs.length, 1);
  t.is(rs[0].metadata.name, `cilium-operator-${pods[0].metadata.labels['pod-template-hash']}`);
  t.is(rs[0].status.readyReplicas, 2);
});

test('without a CNI, ordinary pods stay Pending; they start once the cilium DaemonSet is ready', async (t) => {
  const twin = fakeTwin({ nodeCount: 2 });
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  const s = twin.clusters.a.store;
  for (const n of twin.clusters.a.nodes) {
    s.create('/nodes', {
      apiVersion: 'v1', kind: 'Node', metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } },
      spec: {}, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
    });
  }
  /** @param {string} name */
  const nodeReady = (name) => s.get('/nodes', '', name)?.status?.conditions?.find((/** @type {any} */ c) => c.type === 'Ready');
  s.create('apps/deployments', deployment('kube-system', 'coredns', { replicas: 1, labels: { 'k8s-app': 'kube-dns' } }));
  await waitFor(() => podsOf(twin, 'a', 'kube-system', 'coredns').some(unschedulable), 'the coredns pod found unschedulable');
  t.like(nodeReady('k3s-a-server'), { status: 'False', reason: 'KubeletNotReady' }, 'no CNI: the node is NotReady');
  t.deepEqual(s.get('/nodes', '', 'k3s-a-server')?.spec.taints, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }]);
  const pending = podsOf(twin, 'a', 'kube-system', 'coredns');
  t.is(pending.length, 1);
  t.is(pending[0].status.phase, 'Pending');
  t.falsy(pending[0].spec.nodeName, 'every node is NotReady: the pod is not scheduled');
  t.regex(pending[0].status.conditions[0].message, /untolerated taint \{node\.kubernetes\.io\/not-ready: \}/);
  const d0 = s.get('apps/deployments', 'kube-system', 'coredns');
  t.not(rolloutStatus(d0), '');
  t.like(d0?.status.conditions.find((/** @type {any} */ c) => c.type === 'Available'), { status: 'False', reason: 'MinimumReplicasUnavailable' });
  t.is(d0?.status.unavailableReplicas, 1);

  installCilium(twin, 'a', { podCidr: '10.42.0.0/16' });
  const ds = await waitFor(() => {
    const x = s.get('apps/daemonsets', 'kube-system', 'cilium');
    return x?.status?.numberReady === 2 ? x : undefined;
  }, 'cilium DaemonSet ready');
  t.like(ds.status, { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, numberAvailable: 2, updatedNumberScheduled: 2, numberMisscheduled: 0 });
  t.is(ds.status.observedGeneration, ds.metadata.generation);
  const agents = podsOf(twin, 'a', 'kube-system', 'cilium');
  t.deepEqual(agents.map((p) => p.spec.nodeName).sort(), twin.clusters.a.nodes.map((n) => n.name).sort(), 'one agent per node');
  for (const p of agents) t.regex(p.metadata.name, /^cilium-[bcdfghjklmnpqrstvwxz2456789]{5}$/);

  const d = await waitFor(() => {
    const x = s.get('apps/deployments', 'kube-system', 'coredns');
    return x && rolloutStatus(x) === '' ? x : undefined;
  }, 'coredns ready after Cilium');
  t.is(d.status.readyReplicas, 1);
  const [pod] = podsOf(twin, 'a', 'kube-system', 'coredns').filter(ready);
  t.regex(pod.status.podIP, /^10\.42\.\d+\.\d+$/, 'pod IP from cilium-config cluster-pool-ipv4-cidr');
  t.truthy(pod.spec.nodeName);
  t.like(nodeReady('k3s-a-agent-1'), { status: 'True', reason: 'KubeletReady' });
  t.falsy(s.get('/nodes', '', 'k3s-a-agent-1')?.spec.taints);
});

test('the CNI is per cluster: cluster b without Cilium keeps its pods pending', async (t) => {
  const twin = fakeTwin();
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  installCilium(twin, 'a');
  twin.clusters.a.store.create('apps/deployments', deployment('echo', 'echo'));
  twin.clusters.b.store.create('apps/deployments', deployment('echo', 'echo'));
  await waitFor(() => rolloutStatus(twin.clusters.a.store.get('apps/deployments', 'echo', 'echo')) === '', 'a ready');
  await waitFor(() => podsOf(twin, 'b', 'echo', 'echo').some(unschedulable), "b's pod found unschedulable");
  t.not(rolloutStatus(twin.clusters.b.store.get('apps/deployments', 'echo', 'echo')), '');
  t.true(podsOf(twin, 'b', 'echo', 'echo').every((p) => p.status.phase === 'Pending'));
});

test('scaling down terminates pods (not ready, not counted) and removes them after podTerminateMs; scaling up adds pods', async (t) => {
  const twin = fakeTwin({ delays: { podTerminateMs: 150 } });
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  installCilium(twin, 'a');
  const s = twin.clusters.a.store;
  s.create('apps/deployments', deployment('echo', 'echo', { replicas: 3 }));
  await waitFor(() => rolloutStatus(s.get('apps/deployments', 'echo', 'echo')) === '', 'ready with 3');
  t.is(podsOf(twin, 'a', 'echo', 'echo').length, 3);

  const d = /** @type {KubeObject} */ (s.get('apps/deployments', 'echo', 'echo'));
  d.spec.replicas = 1;
  s.update('apps/deployments', d);
  const terminating = await waitFor(() => {
    const ps = podsOf(twin, 'a', 'echo', 'echo').filter((p) => p.metadata.deletionTimestamp);
    return ps.length === 2 ? ps : undefined;
  }, 'two pods terminating');
  for (const p of terminating) t.false(ready(p), 'a terminating pod is not ready');
  const mid = s.get('apps/deployments', 'echo', 'echo');
  t.is(mid?.status.replicas, 1, 'terminating pods are not counted');
  t.is(rolloutStatus(mid), '');
  await waitFor(() => podsOf(twin, 'a', 'echo', 'echo').length === 1, 'terminated pods removed');

  const d2 = /** @type {KubeObject} */ (s.get('apps/deployments', 'echo', 'echo'));
  d2.spec.replicas = 0;
  s.update('apps/deployments', d2);
  await waitFor(() => podsOf(twin, 'a', 'echo', 'echo').length === 0, 'scaled to zero');
  const zero = s.get('apps/deployments', 'echo', 'echo');
  t.is(rolloutStatus(zero), '');
  t.falsy(zero?.status.readyReplicas);

  const d3 = /** @type {KubeObject} */ (s.get('apps/deployments', 'echo', 'echo'));
  d3.spec.replicas = 2;
  s.update('apps/deployments', d3);
  const up = await waitFor(() => {
    const x = s.get('apps/deployments', 'echo', 'echo');
    return x && x.status?.readyReplicas === 2 && rolloutStatus(x) === '' ? x : undefined;
  }, 'scaled up to 2');
  t.is(up.status.availableReplicas, 2);
});

test('an image change rolls the pods to a new ReplicaSet (new hash); old pods go once new ones are ready', async (t) => {
  const twin = fakeTwin({ delays: { podReadyMs: 40 } });
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  installCilium(twin, 'a');
  const s = twin.clusters.a.store;
  s.create('apps/deployments', deployment('echo', 'echo', { replicas: 2, image: 'mcbtaguiad/web-echo:cluster-a' }));
  await waitFor(() => rolloutStatus(s.get('apps/deployments', 'echo', 'echo')) === '', 'first rollout');
  const oldHash = podsOf(twin, 'a', 'echo', 'echo')[0].metadata.labels['pod-template-hash'];

  // The state when the first new pod is created (read then: a poll could come after the whole rollout).
  /** @type {{ status: string, oldReady: number } | undefined} */
  let during;
  s.on('event', (e) => {
    if (during || e.type !== 'ADDED' || e.resource !== '/pods' || e.object.metadata.labels?.['pod-template-hash'] === oldHash) return;
    during = {
      status: rolloutStatus(s.get('apps/deployments', 'echo', 'echo')),
      oldReady: podsOf(twin, 'a', 'echo', 'echo').filter((p) => p.metadata.labels['pod-template-hash'] === oldHash && ready(p)).length,
    };
  });
  const d = /** @type {KubeObject} */ (s.get('apps/deployments', 'echo', 'echo'));
  d.spec.template.spec.containers[0].image = 'mcbtaguiad/web-echo:cluster-b';
  s.update('apps/deployments', d);
  const started = await waitFor(() => during, 'a pod of the new template');
  t.not(started.status, '', 'not complete while new pods start');
  t.is(started.oldReady, 2, 'old pods keep serving meanwhile');

  const done = await waitFor(() => {
    const x = s.get('apps/deployments', 'echo', 'echo');
    return x && rolloutStatus(x) === '' ? x : undefined;
  }, 'second rollout');
  t.is(done.status.observedGeneration, 2);
  await waitFor(() => podsOf(twin, 'a', 'echo', 'echo').length === 2, 'old pods removed');
  const pods = podsOf(twin, 'a', 'echo', 'echo');
  t.true(pods.every((p) => p.metadata.labels['pod-template-hash'] !== oldHash));
  t.true(pods.every((p) => p.spec.containers[0].image === 'mcbtaguiad/web-echo:cluster-b'));
  const rs = s.list('apps/replicasets', 'echo');
  t.is(rs.length, 2);
  const revisions = rs.map((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision']).sort();
  t.deepEqual(revisions, ['1', '2']);
  t.is(rs.find((r) => r.metadata.labels?.['pod-template-hash'] === oldHash)?.spec.replicas, 0);
});

test('deleting a Deployment removes its ReplicaSets and pods; a deleted pod is replaced', async (t) => {
  const twin = fakeTwin();
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  installCilium(twin, 'a');
  const s = twin.clusters.a.store;
  s.create('apps/deployments', deployment('echo', 'echo', { replicas: 1 }));
  await waitFor(() => rolloutStatus(s.get('apps/deployments', 'echo', 'echo')) === '', 'ready');
  const [first] = podsOf(twin, 'a', 'echo', 'echo');
  s.delete('/pods', 'echo', first.metadata.name);
  const replacement = await waitFor(() => podsOf(twin, 'a', 'echo', 'echo').find((p) => p.metadata.name !== first.metadata.name && ready(p)), 'replacement pod');
  t.truthy(replacement);

  s.delete('apps/deployments', 'echo', 'echo');
  await waitFor(() => podsOf(twin, 'a', 'echo', 'echo').length === 0 && s.list('apps/replicasets', 'echo').length === 0, 'garbage collected');
  t.pass();
});

test('a DaemonSet that is not host-network waits for the CNI on each node; its template change replaces pods', async (t) => {
  const twin = fakeTwin({ nodeCount: 3 });
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  const s = twin.clusters.a.store;
  s.create('apps/daemonsets', {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'example/agent:1' }] } },
    },
  });
  const waiting = await waitFor(() => {
    const x = s.get('apps/daemonsets', 'default', 'agent');
    return podsOf(twin, 'a', 'default', 'agent').length === 3 && x?.status?.currentNumberScheduled === 3 ? x : undefined;
  }, 'agent pods created and counted');
  t.like(waiting?.status, { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 0 });
  t.is(waiting?.status.numberUnavailable, 3);

  installCilium(twin, 'a');
  await waitFor(() => s.get('apps/daemonsets', 'default', 'agent')?.status?.numberReady === 3, 'agent ready');
  const before = new Set(podsOf(twin, 'a', 'default', 'agent').map((p) => p.metadata.name));

  const ds = /** @type {KubeObject} */ (s.get('apps/daemonsets', 'default', 'agent'));
  ds.spec.template.spec.containers[0].image = 'example/agent:2';
  s.update('apps/daemonsets', ds);
  const after = await waitFor(() => {
    const x = s.get('apps/daemonsets', 'default', 'agent');
    const pods = podsOf(twin, 'a', 'default', 'agent');
    return x?.status?.observedGeneration === 2 && x.status.updatedNumberScheduled === 3 && x.status.numberReady === 3 &&
      pods.length === 3 ? x : undefined;
  }, 'updated on all nodes');
  t.is(after.status.observedGeneration, 2);
  const pods = podsOf(twin, 'a', 'default', 'agent');
  t.true(pods.every((p) => !before.has(p.metadata.name) && p.spec.containers[0].image === 'example/agent:2'));
  t.is(pods[0].metadata.labels['pod-template-generation'], '2');
});

test('a workload marked twin.runbook/broken crash-loops and never becomes ready, until the mark is gone', async (t) => {
  const twin = fakeTwin();
  const ctl = startControllers(twin);
  t.teardown(() => ctl.stop());
  const s = twin.clusters.a.store;
  s.create('apps/deployments', deployment('echo', 'echo'));
  installCilium(twin, 'a');
  // Before the controllers start the agents, the stand-in's chart marks the agent broken
  // (kubeProxyReplacement=true without k8sServiceHost).
  const ds = /** @type {KubeObject} */ (s.get('apps/daemonsets', 'kube-system', 'cilium'));
  ds.metadata.annotations = { 'twin.runbook/broken': 'k8sServiceHost unset with kubeProxyReplacement=true' };
  s.update('apps/daemonsets', ds);
  const crashing = await waitFor(() => {
    const ps = podsOf(twin, 'a', 'kube-system', 'cilium');
    return ps.length === 2 && ps.every((p) => p.status.phase === 'Running') ? ps : undefined;
  }, 'agents started');
  for (const p of crashing) {
    t.false(ready(p));
    t.is(p.status.containerStatuses[0].state.waiting.reason, 'CrashLoopBackOff');
    t.is(p.status.containerStatuses[0].lastState.terminated.message, 'k8sServiceHost unset with kubeProxyReplacement=true');
  }
  await waitFor(() => podsOf(twin, 'a', 'echo', 'echo').some(unschedulable), 'the echo pod found unschedulable');
  t.is(s.get('apps/daemonsets', 'kube-system', 'cilium')?.status.numberReady, 0);
  t.not(rolloutStatus(s.get('apps/deployments', 'echo', 'echo')), '', 'no CNI while the agent crash-loops');

  const fixed = /** @type {KubeObject} */ (s.get('apps/daemonsets', 'kube-system', 'cilium'));
  delete fixed.metadata.annotations?.['twin.runbook/broken'];
  s.update('apps/daemonsets', fixed);
  await waitFor(() => rolloutStatus(s.get('apps/deployments', 'echo', 'echo')) === '', 'echo ready once the agent runs');
  t.is(s.get('apps/daemonsets', 'kube-system', 'cilium')?.status.numberReady, 2);
});
