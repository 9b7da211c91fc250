// @ts-check
// The kubelet's volume rule on a real-backend cluster, where kwok plays the
// kubelets: kwok's pod-running stage (kwok-stages.yaml) starts a pod whose
// Secret/ConfigMap volumes need something (twin/controllers/pod-volumes.mjs)
// only once it carries MOUNTED_ANNOTATION. Once a second this gate looks at the
// Pending pods bound to a node: when every object such a pod's volumes need
// exists, it sets the annotation; until then the pod shows what a kubelet
// shows (containers waiting ContainerCreating) and gets a Warning FailedMount
// per volume, once per pod and message.
import { adminRequest, statusMessage } from './apiserver.mjs';
import { everySecond } from './poll.mjs';
import { failedMountMessage, volumeNeeds } from '../../twin/controllers/pod-volumes.mjs';
import { warningEvent } from '../../twin/controllers/events.mjs';
import { nowIso } from '../../twin/controllers/util.mjs';

/** @typedef {import('../../twin/store/types.js').KubeObject} KubeObject */
/** @typedef {{ server: string, pki: import('../../twin/pki.mjs').ClusterPki }} Api */

/** Set on a pod whose volumes all mount; kwok-stages.yaml's pod-running stage waits for it. */
export const MOUNTED_ANNOTATION = 'twin.runbook/volumes-mounted';

/**
 * The status a kubelet reports while it waits for a pod's volumes.
 * @param {KubeObject} pod @param {string | undefined} hostIp
 */
function waitingStatus(pod, hostIp) {
  const now = nowIso();
  const names = (pod.spec.containers ?? []).map((/** @type {any} */ c) => c.name).join(' ');
  const unready = { status: 'False', lastProbeTime: null, lastTransitionTime: now, reason: 'ContainersNotReady', message: `containers with unready status: [${names}]` };
  const scheduled = (pod.status?.conditions ?? []).find((/** @type {any} */ c) => c.type === 'PodScheduled');
  return {
    ...(pod.status ?? {}),
    phase: 'Pending',
    conditions: [
      { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null, lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      { type: 'Ready', ...unready },
      { type: 'ContainersReady', ...unready },
      scheduled ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
    ],
    ...(hostIp ? { hostIP: hostIp, hostIPs: [{ ip: hostIp }] } : {}),
    startTime: pod.status?.startTime ?? now,
    containerStatuses: (pod.spec.containers ?? []).map((/** @type {any} */ c) => ({
      name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false,
      state: { waiting: { reason: 'ContainerCreating' } }, lastState: {},
    })),
  };
}

/**
 * Starts the gate for one cluster.
 * @param {Api & { log?: (line: string) => void }} o log: one line per failure
 * @returns {{ stop: () => Promise<void> }}
 */
export function startVolumeGate(o) {
  const log = o.log ?? (() => {});
  /** @type {Set<string>} "uid|message" of FailedMount events posted */
  const posted = new Set();
  /** @type {Map<string, string | undefined>} node name → InternalIP */
  const nodeIps = new Map();

  /** @param {string} node */
  const hostIp = async (node) => {
    if (!nodeIps.has(node)) {
      const r = await adminRequest(o.server, o.pki, 'GET', `/api/v1/nodes/${node}`);
      if (r.status !== 200) return undefined;
      const addrs = JSON.parse(r.body).status?.addresses ?? [];
      nodeIps.set(node, addrs.find((/** @type {any} */ a) => a.type === 'InternalIP')?.address);
    }
    return nodeIps.get(node);
  };

  /** @param {KubeObject} pod @param {Map<string, boolean>} seen "kind|ns|name" → exists, for this tick */
  const gate = async (pod, seen) => {
    const ns = pod.metadata.namespace ?? 'default';
    const failing = [];
    for (const need of volumeNeeds(pod.spec)) {
      const missing = [];
      for (const obj of need.objects) {
        const key = `${obj.kind}|${ns}|${obj.name}`;
        if (!seen.has(key)) {
          const r = await adminRequest(o.server, o.pki, 'GET', `/api/v1/namespaces/${ns}/${obj.kind === 'secret' ? 'secrets' : 'configmaps'}/${obj.name}`);
          if (r.status !== 200 && r.status !== 404) throw new Error(`reading ${obj.kind} ${ns}/${obj.name}: ${statusMessage(r)}`);
          seen.set(key, r.status === 200);
        }
        if (!seen.get(key)) missing.push(obj);
      }
      if (missing.length) failing.push({ volume: need.volume, missing });
    }
    const path = `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`;
    if (!failing.length) {
      const body = { ...pod, apiVersion: 'v1', kind: 'Pod', metadata: { ...pod.metadata, annotations: { ...(pod.metadata.annotations ?? {}), [MOUNTED_ANNOTATION]: 'true' } } };
      const r = await adminRequest(o.server, o.pki, 'PUT', path, body);
      if (r.status !== 200 && r.status !== 409 && r.status !== 404) throw new Error(`annotating pod ${ns}/${pod.metadata.name}: ${statusMessage(r)}`);
      return;
    }
    if (!pod.status?.containerStatuses) {
      const r = await adminRequest(o.server, o.pki, 'PUT', `${path}/status`, { ...pod, apiVersion: 'v1', kind: 'Pod', status: waitingStatus(pod, await hostIp(pod.spec.nodeName)) });
      if (r.status !== 200 && r.status !== 409 && r.status !== 404) throw new Error(`status of pod ${ns}/${pod.metadata.name}: ${statusMessage(r)}`);
    }
    for (const f of failing) {
      const message = failedMountMessage(f.volume, f.missing);
      const key = `${pod.metadata.uid}|${message}`;
      if (posted.has(key)) continue;
      const r = await adminRequest(o.server, o.pki, 'POST', `/api/v1/namespaces/${ns}/events`,
        warningEvent({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'FailedMount', message, { component: 'kubelet', host: pod.spec.nodeName }));
      if (r.status === 201) posted.add(key);
      else if (r.status !== 403 && r.status !== 404) throw new Error(`FailedMount event for pod ${ns}/${pod.metadata.name}: ${statusMessage(r)}`);
    }
  };

  return everySecond(async (stopped) => {
    const r = await adminRequest(o.server, o.pki, 'GET', '/api/v1/pods?fieldSelector=status.phase%3DPending');
    if (r.status !== 200) throw new Error(`listing Pending pods: ${statusMessage(r)}`);
    /** @type {KubeObject[]} */
    const pods = JSON.parse(r.body).items ?? [];
    const uids = new Set(pods.map((p) => p.metadata.uid));
    for (const key of posted) if (!uids.has(key.split('|')[0])) posted.delete(key);
    const seen = new Map();
    for (const pod of pods) {
      if (stopped()) return;
      if (!pod.spec?.nodeName || pod.metadata.deletionTimestamp || pod.metadata.annotations?.[MOUNTED_ANNOTATION]) continue;
      if (!volumeNeeds(pod.spec).length) continue; // kwok starts it at once
      try {
        await gate(pod, seen);
      } catch (e) {
        log(`volume gate: ${/** @type {Error} */ (e).message.split('\n')[0]}`);
      }
    }
  }, log, 'volume gate');
}
