// @ts-check
// Workloads: what the Deployment, ReplicaSet and DaemonSet controllers, the
// scheduler and the kubelet do, reduced to what the runbook can observe.
//
// - A Deployment gets a ReplicaSet `<deploy>-<pod-template-hash>` and pods
//   `<rs>-<5 alnum>`; a template change makes a new ReplicaSet (new hash); old
//   pods are terminated once the new ones are ready (RollingUpdate) or first
//   (Recreate). Status and conditions follow the real controller, so
//   `kubectl rollout status` and `kubectl wait` behave.
// - A DaemonSet gets one pod `<ds>-<5 alnum>` per node, replaced node by node
//   (maxUnavailable 1) when its template changes.
// - The network rule of a K3s started with `--flannel-backend=none`: a node has
//   a CNI only while a ready pod of DaemonSet kube-system/cilium runs on it.
//   Nodes without one are NotReady (tainted), so pods that are not host-network
//   stay Pending until Cilium runs; host-network pods (the cilium agent and
//   operator) start anyway.
// - Pods are ready `podReadyMs` after they can start; pods scaled away are
//   marked for deletion (not ready, not endpoints, not counted) and removed
//   after `podTerminateMs`. A pod whose Secret or ConfigMap volumes cannot
//   mount stays ContainerCreating until they can (pod-volumes.mjs).
import { createHash, randomBytes } from 'node:crypto';
import {
  Debouncer, KUBE_SYSTEM, Timers, findCondition, nowIso, parseCidr, numToIp,
  podServes, randSuffix, selectorMatches, setCondition, templateHash, ciliumConfig,
} from './util.mjs';
import { admitPod } from './pod-admission.mjs';
import { volumesMount } from './pod-volumes.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinCluster} TwinCluster */
/** @typedef {import('../types.js').TwinNode} TwinNode */

/**
 * The cilium stand-in marks a workload that could never work in a real
 * cluster (e.g. kubeProxyReplacement without k8sServiceHost) with this
 * annotation; its pods crash-loop and never become ready.
 */
export const BROKEN_ANNOTATION = 'twin.runbook/broken';

const DEPLOY = 'apps/deployments';
const RS = 'apps/replicasets';
const DS = 'apps/daemonsets';
const PODS = '/pods';

/** @param {Twin} twin */
export function startWorkloads(twin) {
  const parts = Object.values(twin.clusters).map((c) => new ClusterWorkloads(twin, c));
  return { stop() { for (const p of parts) p.stop(); } };
}

/** @param {KubeObject} o @param {string} kind */
const ownerRef = (o, kind) => (o.metadata.ownerReferences ?? [])
  .map((r) => /** @type {{kind?: string, name?: string, uid?: string}} */ (r))
  .find((r) => r.kind === kind);

/** @param {KubeObject} o */
const controllerRefOf = (o) => ({
  apiVersion: 'apps/v1', kind: o.kind, name: o.metadata.name, uid: o.metadata.uid,
  controller: true, blockOwnerDeletion: true,
});

/** @param {KubeObject} pod */
const isActive = (pod) => !pod.metadata.deletionTimestamp;

/** @param {KubeObject} pod */
const hostNetwork = (pod) => pod.spec?.hostNetwork === true;

/** Tolerates the NotReady taint of a node without CNI. @param {any} podSpec */
const toleratesNotReady = (podSpec) => (podSpec?.tolerations ?? []).some((/** @type {any} */ t) =>
  (t.operator === 'Exists' && !t.key) || t.key === 'node.kubernetes.io/not-ready');

/**
 * maxUnavailable/maxSurge: an int, or a percentage of `replicas`.
 * @param {unknown} v @param {number} replicas @param {boolean} roundUp
 */
function intOrPercent(v, replicas, roundUp) {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(String(v ?? ''));
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * replicas) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** Drops zero and undefined counters, as the API's omitempty does. @param {Record<string, any>} o */
function omitZero(o) {
  for (const k of Object.keys(o)) if (o[k] === 0 || o[k] === undefined) delete o[k];
  return o;
}

/** @param {string} image */
const imageId = (image) => {
  const ref = image.includes('/') ? image : `library/${image}`;
  const host = ref.split('/')[0].includes('.') ? '' : 'docker.io/';
  return `${host}${ref.replace(/[:@].*$/, '')}@sha256:${createHash('sha256').update(image).digest('hex')}`;
};

class ClusterWorkloads {
  /** @param {Twin} twin @param {TwinCluster} cluster */
  constructor(twin, cluster) {
    this.twin = twin;
    this.cluster = cluster;
    this.store = cluster.store;
    this.timers = new Timers();
    /** @type {Set<string>} "d|ns|name" (Deployment) or "s|ns|name" (DaemonSet) */
    this.dirty = new Set();
    this.flusher = new Debouncer(() => this.flush(), () => 0);
    /** @param {StoreEvent} ev */
    this.onEvent = (ev) => this.handle(ev);
    this.store.on('event', this.onEvent);
    this.markAll();
    for (const p of this.store.list(PODS)) if (p.metadata.deletionTimestamp) this.scheduleRemoval(p);
  }

  stop() {
    this.store.off('event', this.onEvent);
    this.flusher.stop();
    this.timers.stop();
  }

  get delays() { return this.twin.options.delays; }

  markAll() {
    for (const d of this.store.list(DEPLOY)) this.mark('d', d.metadata.namespace ?? '', d.metadata.name);
    for (const s of this.store.list(DS)) this.mark('s', s.metadata.namespace ?? '', s.metadata.name);
  }

  /** @param {string} ns */
  markNamespace(ns) {
    for (const d of this.store.list(DEPLOY, ns)) this.mark('d', ns, d.metadata.name);
    for (const s of this.store.list(DS, ns)) this.mark('s', ns, s.metadata.name);
  }

  /** @param {'d'|'s'} kind @param {string} ns @param {string} name */
  mark(kind, ns, name) {
    this.dirty.add(`${kind}|${ns}|${name}`);
    this.flusher.kick();
  }

  /** @param {StoreEvent} ev */
  handle(ev) {
    const o = ev.object;
    const ns = o.metadata.namespace ?? '';
    switch (ev.resource) {
      case DEPLOY: this.mark('d', ns, o.metadata.name); break;
      case '/serviceaccounts':
        // Pods refused for want of this account are tried again.
        if (ev.type === 'ADDED') this.markNamespace(ns);
        break;
      case '/secrets':
      case '/configmaps':
        // Pods whose volumes could not mount for want of this object start.
        if (ev.type === 'ADDED') this.markNamespace(ns);
        break;
      case DS: this.mark('s', ns, o.metadata.name); break;
      case RS: {
        const owner = ownerRef(o, 'Deployment');
        if (owner?.name) this.mark('d', ns, owner.name);
        break;
      }
      case PODS: {
        const dsOwner = ownerRef(o, 'DaemonSet');
        if (dsOwner?.name) {
          this.mark('s', ns, dsOwner.name);
          // The cilium agent decides which nodes have a CNI: every workload may move.
          if (ns === KUBE_SYSTEM && dsOwner.name === 'cilium') this.markAll();
        }
        const rsOwner = ownerRef(o, 'ReplicaSet');
        if (rsOwner?.name) {
          const rs = this.store.get(RS, ns, rsOwner.name);
          const dOwner = rs && ownerRef(rs, 'Deployment');
          if (dOwner?.name) this.mark('d', ns, dOwner.name);
        }
        if (ev.type !== 'DELETED' && o.metadata.deletionTimestamp) this.scheduleRemoval(o);
        break;
      }
      default:
    }
  }

  flush() {
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) {
      const [kind, ns, name] = key.split('|');
      if (kind === 'd') this.reconcileDeployment(ns, name);
      else this.reconcileDaemonSet(ns, name);
    }
    this.syncNodes();
  }

  /**
   * The kubelet's Ready condition and the node lifecycle controller's taint:
   * a node without a CNI is NotReady and tainted node.kubernetes.io/not-ready.
   * Only Node objects the twin seeded are touched.
   */
  syncNodes() {
    const cni = this.cniNodes();
    for (const n of this.cluster.nodes) {
      const node = this.store.get('/nodes', '', n.name);
      if (!node) continue;
      const ready = cni.has(n.name);
      const before = JSON.stringify(node);
      const conds = /** @type {any[]} */ (node.status?.conditions ?? []);
      const old = conds.find((c) => c.type === 'Ready');
      if (old?.status !== (ready ? 'True' : 'False')) {
        const now = nowIso();
        const next = ready
          ? { type: 'Ready', status: 'True', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletReady', message: 'kubelet is posting ready status' }
          : {
            type: 'Ready', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletNotReady',
            message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
          };
        node.status = { ...(node.status ?? {}), conditions: [...conds.filter((c) => c.type !== 'Ready'), next] };
      }
      node.spec = node.spec ?? {};
      const taints = /** @type {any[]} */ (node.spec.taints ?? []).filter((x) => x.key !== 'node.kubernetes.io/not-ready');
      if (!ready) taints.push({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
      if (taints.length) node.spec.taints = taints; else delete node.spec.taints;
      if (JSON.stringify(node) !== before) this.store.update('/nodes', node);
    }
  }

  // ------------------------------------------------------------- nodes & CNI

  /** Nodes where a ready cilium agent pod runs: they have a CNI. */
  cniNodes() {
    const out = new Set();
    for (const p of this.store.list(PODS, KUBE_SYSTEM)) {
      if (ownerRef(p, 'DaemonSet')?.name === 'cilium' && podServes(p) && p.spec?.nodeName) out.add(p.spec.nodeName);
    }
    return out;
  }

  /**
   * Nodes the scheduler may bind a pod to: Ready ones (with a CNI); NotReady
   * ones only for host-network pods or pods tolerating the not-ready taint.
   * @param {any} podSpec @param {Set<string>} cni
   */
  schedulable(podSpec, cni) {
    const all = this.cluster.nodes.map((n) => n.name);
    const ready = all.filter((n) => cni.has(n));
    if (ready.length) return ready;
    return podSpec?.hostNetwork === true || toleratesNotReady(podSpec) ? all : [];
  }

  /** @param {string} name @returns {TwinNode | undefined} */
  node(name) { return this.cluster.nodes.find((n) => n.name === name); }

  /** The K3s server's --cluster-cidr, from its k3s.io/node-args, if any. */
  k3sClusterCidr() {
    for (const n of this.store.list('/nodes')) {
      let args;
      try { args = JSON.parse(n.metadata.annotations?.['k3s.io/node-args'] ?? '[]'); } catch { continue; }
      const i = Array.isArray(args) ? args.indexOf('--cluster-cidr') : -1;
      if (i >= 0 && typeof args[i + 1] === 'string') return args[i + 1];
    }
    return undefined;
  }

  /** Pod CIDR: Cilium's cluster pool when Cilium is installed, else the K3s server's (default 10.42.0.0/16). */
  podCidr() {
    const cfg = ciliumConfig(this.store);
    const first = String(cfg?.['cluster-pool-ipv4-cidr'] ?? '').split(/[\s,]+/).find(Boolean);
    const parsed = first && parseCidr(first);
    const mask = Number(cfg?.['cluster-pool-ipv4-mask-size'] ?? 24);
    return parsed ? { ...parsed, mask: Math.max(parsed.bits, Math.min(30, mask || 24)) }
      : { ...(/** @type {{from: number, to: number, bits: number}} */ (parseCidr(this.k3sClusterCidr() ?? '10.42.0.0/16') || parseCidr('10.42.0.0/16'))), mask: 24 };
  }

  /** A free pod IP in the node's slice of the pod CIDR (strings only, never dialled). @param {string} nodeName */
  allocPodIp(nodeName) {
    const used = new Set(this.store.list(PODS).map((p) => p.status?.podIP).filter(Boolean));
    const cidr = this.podCidr();
    const slice = 2 ** (32 - cidr.mask);
    const slices = Math.max(1, Math.floor((cidr.to - cidr.from + 1) / slice));
    const idx = Math.max(0, this.cluster.nodes.findIndex((n) => n.name === nodeName)) % slices;
    const base = cidr.from + idx * slice;
    for (let host = 10; host < slice - 1; host++) {
      const ip = numToIp(base + host);
      if (!used.has(ip)) return ip;
    }
    return numToIp(base + 2 + Math.floor(Math.random() * Math.max(1, slice - 4)));
  }

  // -------------------------------------------------------------------- pods

  /**
   * @param {KubeObject} owner the ReplicaSet or DaemonSet
   * @param {any} template
   * @param {string} name
   * @param {Record<string, string>} extraLabels
   * @param {string | undefined} nodeName
   */
  createPod(owner, template, name, extraLabels, nodeName) {
    const ns = owner.metadata.namespace ?? 'default';
    const spec = structuredClone(template?.spec ?? {});
    spec.restartPolicy ??= 'Always';
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.schedulerName ??= 'default-scheduler';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.enableServiceLinks ??= true;
    /** @type {KubeObject} */
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        generateName: name.replace(/[^-]+$/, ''),
        namespace: ns,
        labels: { ...(template?.metadata?.labels ?? {}), ...extraLabels },
        ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [controllerRefOf(owner)],
      },
      spec,
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    };
    if (!admitPod(this.store, owner, pod, owner.kind === 'DaemonSet' ? 'daemonset-controller' : 'replicaset-controller')) return undefined;
    if (nodeName) this.bind(pod, nodeName);
    else this.markUnschedulable(pod);
    try {
      return this.store.create(PODS, pod);
    } catch (err) {
      if (/** @type {any} */ (err).reason === 'AlreadyExists') return undefined;
      throw err;
    }
  }

  /** Scheduled, containers being created. @param {KubeObject} pod @param {string} nodeName */
  bind(pod, nodeName) {
    const node = this.node(nodeName);
    pod.spec.nodeName = nodeName;
    const now = nowIso();
    pod.status = {
      phase: 'Pending',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null, lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: now, reason: 'ContainersNotReady', message: `containers with unready status: [${(pod.spec.containers ?? []).map((/** @type {any} */ c) => c.name).join(' ')}]` },
        { type: 'ContainersReady', status: 'False', lastProbeTime: null, lastTransitionTime: now, reason: 'ContainersNotReady', message: `containers with unready status: [${(pod.spec.containers ?? []).map((/** @type {any} */ c) => c.name).join(' ')}]` },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      ],
      hostIP: node?.ip,
      hostIPs: node ? [{ ip: node.ip }] : undefined,
      startTime: now,
      qosClass: 'BestEffort',
      containerStatuses: (pod.spec.containers ?? []).map((/** @type {any} */ c) => ({
        name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false,
        state: { waiting: { reason: 'ContainerCreating' } }, lastState: {},
      })),
    };
    if (!node) delete pod.status.hostIP;
    if (!node) delete pod.status.hostIPs;
  }

  /** The scheduler's answer while every node is NotReady. @param {KubeObject} pod */
  markUnschedulable(pod) {
    const n = this.cluster.nodes.length;
    const message = `0/${n} nodes are available: ${n} node(s) had untolerated taint {node.kubernetes.io/not-ready: }. ` +
      `preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`;
    const prev = findCondition(pod.status?.conditions, 'PodScheduled');
    pod.status = {
      phase: 'Pending',
      conditions: [{
        type: 'PodScheduled', status: 'False', lastProbeTime: null,
        lastTransitionTime: prev?.status === 'False' ? prev.lastTransitionTime : nowIso(),
        reason: 'Unschedulable', message,
      }],
      qosClass: 'BestEffort',
    };
  }

  /** Running and ready, with an address. @param {KubeObject} pod */
  markRunning(pod) {
    const node = this.node(pod.spec.nodeName);
    const ip = hostNetwork(pod) ? (node?.ip ?? '127.0.0.1') : this.allocPodIp(pod.spec.nodeName);
    const now = nowIso();
    const started = pod.status?.startTime ?? now;
    pod.status = {
      phase: 'Running',
      conditions: [
        { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: started },
        { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: started },
      ],
      hostIP: node?.ip,
      hostIPs: node ? [{ ip: node.ip }] : undefined,
      podIP: ip,
      podIPs: [{ ip }],
      startTime: started,
      qosClass: 'BestEffort',
      containerStatuses: (pod.spec.containers ?? []).map((/** @type {any} */ c) => ({
        name: c.name,
        image: c.image,
        imageID: imageId(String(c.image ?? '')),
        containerID: `containerd://${randomBytes(32).toString('hex')}`,
        ready: true,
        restartCount: 0,
        started: true,
        state: { running: { startedAt: now } },
        lastState: {},
      })),
    };
    if (!node) { delete pod.status.hostIP; delete pod.status.hostIPs; }
  }

  /**
   * Moves one pod along: schedule it when a node can take it, start it
   * `podReadyMs` after it can run. A pod of a workload marked broken (see
   * BROKEN_ANNOTATION) runs but crash-loops, never ready; it recovers once
   * the mark is gone.
   * @param {KubeObject} pod
   * @param {Set<string>} cni nodes with a CNI
   * @param {(candidates: string[]) => string} pick node choice among candidates
   * @param {() => string | undefined} broken the owner's broken reason, read when needed
   */
  progressPod(pod, cni, pick, broken) {
    if (!isActive(pod) || podServes(pod)) return;
    const crashing = pod.status?.phase === 'Running';
    if (crashing && broken()) return;
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name;
    if (!pod.spec?.nodeName) {
      const candidates = this.schedulable(pod.spec, cni);
      if (!candidates.length) return;
      const nodeName = pick(candidates);
      const bound = this.store.get(PODS, ns, name);
      if (!bound || bound.spec?.nodeName) return;
      this.bind(bound, nodeName);
      pod = this.store.update(PODS, bound);
    }
    const canRun = hostNetwork(pod) || cni.has(pod.spec.nodeName);
    if (!canRun && !crashing) return;
    if (!crashing && !volumesMount(this.store, pod)) return; // see pod-volumes.mjs
    const uid = pod.metadata.uid ?? '';
    this.timers.ensure(`start|${uid}`, this.delays.podReadyMs, () => {
      const p = this.store.get(PODS, ns, name);
      if (!p || p.metadata.uid !== uid || !isActive(p) || podServes(p)) return;
      const running = p.status?.phase === 'Running';
      if (!running && !(hostNetwork(p) || this.cniNodes().has(p.spec.nodeName))) return; // the CNI went away meanwhile
      const reason = broken();
      if (reason) {
        if (running) return;
        this.markCrashLoop(p, reason);
      } else {
        this.markRunning(p);
      }
      this.store.update(PODS, p);
    });
  }

  /**
   * Started, but the container keeps failing: Running, not ready, CrashLoopBackOff.
   * @param {KubeObject} pod @param {string} reason
   */
  markCrashLoop(pod, reason) {
    this.markRunning(pod);
    const now = nowIso();
    const ns = pod.metadata.namespace ?? '';
    for (const type of ['Ready', 'ContainersReady']) {
      pod.status.conditions = pod.status.conditions.map((/** @type {any} */ c) => (c.type === type
        ? { ...c, status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${(pod.spec.containers ?? []).map((/** @type {any} */ x) => x.name).join(' ')}]` }
        : c));
    }
    pod.status.containerStatuses = pod.status.containerStatuses.map((/** @type {any} */ c) => ({
      ...c,
      ready: false,
      started: false,
      restartCount: 1,
      state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name} pod=${pod.metadata.name}_${ns}(${pod.metadata.uid})` } },
      lastState: { terminated: { exitCode: 1, reason: 'Error', message: reason, startedAt: now, finishedAt: now, containerID: c.containerID } },
    }));
  }

  /**
   * Graceful deletion: the pod stops being ready and an endpoint at once and is
   * removed after `podTerminateMs`; a pod that never ran goes at once.
   * @param {KubeObject} pod
   */
  terminatePod(pod) {
    if (!isActive(pod)) return;
    const ns = pod.metadata.namespace ?? '';
    if (!pod.spec?.nodeName || pod.status?.phase === 'Pending') {
      this.timers.clear(`start|${pod.metadata.uid}`);
      try { this.store.delete(PODS, ns, pod.metadata.name); } catch { /* already gone */ }
      return;
    }
    const p = this.store.get(PODS, ns, pod.metadata.name);
    if (!p || p.metadata.uid !== pod.metadata.uid) return;
    const grace = Number(p.spec?.terminationGracePeriodSeconds ?? 30);
    p.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    p.metadata.deletionGracePeriodSeconds = grace;
    for (const type of ['Ready', 'ContainersReady']) {
      p.status.conditions = setCondition(p.status.conditions, { type, status: 'False', lastProbeTime: null, reason: 'PodCompleted' });
    }
    this.store.update(PODS, p); // the event schedules the removal
  }

  /** @param {KubeObject} pod */
  scheduleRemoval(pod) {
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name;
    const uid = pod.metadata.uid;
    this.timers.ensure(`del|${uid}`, this.delays.podTerminateMs, () => {
      const p = this.store.get(PODS, ns, name);
      if (p && p.metadata.uid === uid) this.store.delete(PODS, ns, name);
    });
  }

  // ------------------------------------------------------------- Deployment

  /** @param {string} ns @param {string} name */
  reconcileDeployment(ns, name) {
    const d = this.store.get(DEPLOY, ns, name);
    const allRs = this.store.list(RS, ns).filter((r) => ownerRef(r, 'Deployment')?.name === name);
    const owned = allRs.filter((r) => d && ownerRef(r, 'Deployment')?.uid === d.metadata.uid);
    const pods = this.store.list(PODS, ns);
    /** @param {string} rsName */
    const podsOf = (rsName) => pods.filter((p) => ownerRef(p, 'ReplicaSet')?.name === rsName);

    // Garbage collection: ReplicaSets (and their pods) of a deleted Deployment.
    for (const r of allRs) {
      if (owned.includes(r)) continue;
      for (const p of podsOf(r.metadata.name)) this.terminatePod(p);
      try { this.store.delete(RS, ns, r.metadata.name); } catch { /* gone */ }
    }
    if (!d) return;

    const spec = d.spec ?? {};
    const replicas = spec.replicas ?? 1;
    const template = spec.template ?? {};
    const hash = templateHash(template);
    const newRsName = `${name}-${hash}`;
    const strategy = spec.strategy?.type ?? 'RollingUpdate';
    const maxSurge = strategy === 'RollingUpdate' ? intOrPercent(spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true) : 0;
    const maxUnavailable = strategy === 'RollingUpdate' ? intOrPercent(spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false) : 0;

    let newRs = owned.find((r) => r.metadata.name === newRsName);
    let created = false;
    const revisions = owned.map((r) => Number(r.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0));
    const maxRev = revisions.length ? Math.max(...revisions) : 0;
    if (!newRs) {
      const labels = { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash };
      newRs = this.store.create(RS, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: newRsName,
          namespace: ns,
          labels,
          annotations: {
            'deployment.kubernetes.io/desired-replicas': String(replicas),
            'deployment.kubernetes.io/max-replicas': String(replicas + maxSurge),
            'deployment.kubernetes.io/revision': String(maxRev + 1),
          },
          ownerReferences: [controllerRefOf(d)],
        },
        spec: {
          replicas: 0,
          selector: {
            ...(spec.selector ?? {}),
            matchLabels: { ...(spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
          },
          template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
        },
        status: { replicas: 0 },
      });
      created = true;
    } else if (Number(newRs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0) < maxRev) {
      // A rollback to an older template: that ReplicaSet becomes the newest revision.
      const rsName = newRs.metadata.name;
      newRs = this.patchRs(ns, rsName, (r) => {
        r.metadata.annotations = { ...(r.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': String(maxRev + 1) };
      }) ?? newRs;
    }
    const oldRs = owned.filter((r) => r.metadata.name !== newRsName);

    // Scale the new ReplicaSet, retire the old ones.
    const oldPods = oldRs.flatMap((r) => podsOf(r.metadata.name));
    let newActive = podsOf(newRsName).filter(isActive);
    const wantNew = strategy === 'Recreate' && oldPods.length > 0 ? 0 : replicas;
    if (strategy === 'Recreate') for (const p of oldPods) this.terminatePod(p);

    const cni = this.cniNodes();
    /** @param {string[]} candidates */
    const pick = (candidates) => {
      const load = new Map(candidates.map((c) => [c, 0]));
      for (const p of this.store.list(PODS, ns)) {
        const n = p.spec?.nodeName;
        if (n && load.has(n) && isActive(p) && p.metadata.labels?.['pod-template-hash'] === hash &&
          ownerRef(p, 'ReplicaSet')?.name === newRsName) load.set(n, (load.get(n) ?? 0) + 1);
      }
      return [...load.entries()].sort((a, b) => a[1] - b[1])[0][0];
    };
    if (newActive.length < wantNew) {
      const rsObj = /** @type {KubeObject} */ (newRs);
      for (let i = newActive.length; i < wantNew; i++) {
        const podTemplate = rsObj.spec.template;
        const candidates = this.schedulable(podTemplate.spec, cni);
        const nodeName = candidates.length ? pick(candidates) : undefined;
        this.createPod(rsObj, podTemplate, `${newRsName}-${randSuffix(5)}`, { 'pod-template-hash': hash }, nodeName);
      }
    } else if (newActive.length > wantNew) {
      const order = [...newActive].sort((a, b) =>
        Number(!!a.spec?.nodeName) - Number(!!b.spec?.nodeName) ||
        Number(podServes(a)) - Number(podServes(b)) ||
        String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
      for (const p of order.slice(0, newActive.length - wantNew)) this.terminatePod(p);
    }

    newActive = this.store.list(PODS, ns).filter((p) => isActive(p) && ownerRef(p, 'ReplicaSet')?.name === newRsName);
    const broken = () => this.store.get(DEPLOY, ns, name)?.metadata.annotations?.[BROKEN_ANNOTATION];
    for (const p of newActive) this.progressPod(p, cni, pick, broken);
    newActive = this.store.list(PODS, ns).filter((p) => isActive(p) && ownerRef(p, 'ReplicaSet')?.name === newRsName);
    const newReady = newActive.filter(podServes).length;
    if (strategy === 'RollingUpdate' && (newReady >= replicas || replicas === 0)) {
      for (const p of oldPods) this.terminatePod(p);
    }
    for (const p of oldPods.filter(isActive)) this.progressPod(p, cni, (c) => c[0], broken);

    // ReplicaSet specs and statuses.
    const now = this.store.list(PODS, ns);
    /** @param {string} rsName */
    const activeOf = (rsName) => now.filter((p) => isActive(p) && ownerRef(p, 'ReplicaSet')?.name === rsName);
    this.syncRs(ns, newRsName, wantNew, activeOf(newRsName), { desired: replicas, max: replicas + maxSurge });
    for (const r of oldRs) {
      const act = activeOf(r.metadata.name);
      this.syncRs(ns, r.metadata.name, act.length, act);
    }

    // Deployment status.
    const active = [...activeOf(newRsName), ...oldRs.flatMap((r) => activeOf(r.metadata.name))];
    const ready = active.filter(podServes).length;
    const updated = activeOf(newRsName).length;
    const rsSpecTotal = wantNew + oldRs.reduce((n, r) => n + activeOf(r.metadata.name).length, 0);
    const complete = updated === replicas && active.length === replicas && ready >= replicas;
    const oldReplicas = active.length - updated;
    const available = ready >= replicas - maxUnavailable;
    this.patchStatus(DEPLOY, ns, name, (o) => {
      const st = o.status ?? {};
      let conditions = st.conditions ?? [];
      conditions = upsertDeploymentCondition(conditions, {
        type: 'Available',
        status: available ? 'True' : 'False',
        reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        message: available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
      });
      // syncRolloutStatus: complete, just created, or progressing (more updated,
      // ready or available replicas, fewer old ones); otherwise unchanged.
      const progressed = updated > (st.updatedReplicas ?? 0) || ready > (st.readyReplicas ?? 0) ||
        ready > (st.availableReplicas ?? 0) || oldReplicas < (st.replicas ?? 0) - (st.updatedReplicas ?? 0);
      const progressing = complete
        ? { reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${newRsName}" has successfully progressed.` }
        : created
          ? { reason: 'NewReplicaSetCreated', message: `Created new replica set "${newRsName}"` }
          : progressed || !findCondition(conditions, 'Progressing')
            ? { reason: 'ReplicaSetUpdated', message: `ReplicaSet "${newRsName}" is progressing.` }
            : undefined;
      if (progressing) conditions = upsertDeploymentCondition(conditions, { type: 'Progressing', status: 'True', ...progressing });
      o.status = omitZero({
        observedGeneration: o.metadata.generation,
        replicas: active.length,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: ready,
        unavailableReplicas: Math.max(0, rsSpecTotal - ready),
        conditions: sortConditions(conditions, ['Available', 'Progressing']),
      });
    });
  }

  /** @param {string} ns @param {string} name @param {(o: KubeObject) => void} mutate */
  patchRs(ns, name, mutate) {
    const o = this.store.get(RS, ns, name);
    if (!o) return undefined;
    const before = JSON.stringify(o);
    mutate(o);
    return JSON.stringify(o) === before ? o : this.store.update(RS, o);
  }

  /**
   * @param {string} ns @param {string} name @param {number} specReplicas @param {KubeObject[]} active
   * @param {{ desired: number, max: number }} [annotations]
   */
  syncRs(ns, name, specReplicas, active, annotations) {
    const afterSpec = this.patchRs(ns, name, (r) => {
      r.spec.replicas = specReplicas;
      if (annotations) {
        r.metadata.annotations = {
          ...(r.metadata.annotations ?? {}),
          'deployment.kubernetes.io/desired-replicas': String(annotations.desired),
          'deployment.kubernetes.io/max-replicas': String(annotations.max),
        };
      }
    });
    if (!afterSpec) return;
    const ready = active.filter(podServes).length;
    this.patchStatus(RS, ns, name, (r) => {
      r.status = omitZero({
        replicas: active.length,
        fullyLabeledReplicas: active.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: r.metadata.generation,
      });
      r.status.replicas = active.length; // not omitempty
    });
  }

  /** Writes status only when it changed. @param {string} resource @param {string} ns @param {string} name @param {(o: KubeObject) => void} mutate */
  patchStatus(resource, ns, name, mutate) {
    const o = this.store.get(resource, ns, name);
    if (!o) return;
    const before = JSON.stringify(o.status ?? null);
    mutate(o);
    if (JSON.stringify(o.status ?? null) !== before) this.store.update(resource, o);
  }

  // -------------------------------------------------------------- DaemonSet

  /** @param {string} ns @param {string} name */
  reconcileDaemonSet(ns, name) {
    const ds = this.store.get(DS, ns, name);
    const pods = this.store.list(PODS, ns).filter((p) => ownerRef(p, 'DaemonSet')?.name === name);
    if (!ds) {
      for (const p of pods) this.terminatePod(p);
      return;
    }
    const mine = pods.filter((p) => ownerRef(p, 'DaemonSet')?.uid === ds.metadata.uid);
    for (const p of pods) if (!mine.includes(p)) this.terminatePod(p);

    const template = ds.spec?.template ?? {};
    const hash = templateHash(template);
    const generation = String(ds.metadata.generation ?? 1);
    const nodes = this.cluster.nodes.filter((n) => this.nodeMatches(ds, n));
    const nodeNames = new Set(nodes.map((n) => n.name));
    const cni = this.cniNodes();
    const maxUnavailable = Math.max(1, intOrPercent(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, nodes.length, false));
    const onDelete = ds.spec?.updateStrategy?.type === 'OnDelete';

    for (const p of mine) if (isActive(p) && !nodeNames.has(p.spec?.nodeName)) this.terminatePod(p);

    /** @param {string} node */
    const activeOn = (node) => this.store.list(PODS, ns)
      .filter((p) => isActive(p) && ownerRef(p, 'DaemonSet')?.uid === ds.metadata.uid && p.spec?.nodeName === node);
    let unavailable = nodes.filter((n) => !activeOn(n.name).some(podServes)).length;
    for (const n of nodes) {
      const here = activeOn(n.name);
      const current = here.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash);
      let old = here.filter((p) => !current.includes(p));
      if (old.length && !onDelete) {
        // Rolling update, maxUnavailable nodes at a time.
        const servingHere = here.some(podServes);
        if (!servingHere || unavailable < maxUnavailable) {
          for (const p of old) this.terminatePod(p);
          if (servingHere) unavailable++;
          old = [];
        }
      }
      if (current.length === 0 && old.length === 0) {
        this.createPod(ds, template, `${name}-${randSuffix(5)}`,
          { 'controller-revision-hash': hash, 'pod-template-generation': generation }, n.name);
      }
      for (const p of current.slice(1)) this.terminatePod(p);
    }
    for (const p of this.store.list(PODS, ns)) {
      if (isActive(p) && ownerRef(p, 'DaemonSet')?.uid === ds.metadata.uid) {
        this.progressPod(p, cni, (c) => c[0], () => this.store.get(DS, ns, name)?.metadata.annotations?.[BROKEN_ANNOTATION]);
      }
    }

    const active = this.store.list(PODS, ns)
      .filter((p) => isActive(p) && ownerRef(p, 'DaemonSet')?.uid === ds.metadata.uid && nodeNames.has(p.spec?.nodeName));
    const scheduled = new Set(active.map((p) => p.spec.nodeName));
    const ready = active.filter(podServes).length;
    const updated = new Set(active.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).map((p) => p.spec.nodeName));
    this.patchStatus(DS, ns, name, (o) => {
      o.status = {
        currentNumberScheduled: scheduled.size,
        numberMisscheduled: 0,
        desiredNumberScheduled: nodes.length,
        numberReady: ready,
        ...omitZero({
          observedGeneration: o.metadata.generation,
          updatedNumberScheduled: updated.size,
          numberAvailable: ready,
          numberUnavailable: Math.max(0, nodes.length - ready),
        }),
      };
    });
  }

  /**
   * `spec.template.spec.nodeSelector` against the node's labels (Node objects
   * in the store when the twin has them, else K3s's defaults).
   * @param {KubeObject} ds @param {TwinNode} n
   */
  nodeMatches(ds, n) {
    const sel = ds.spec?.template?.spec?.nodeSelector;
    if (!sel || !Object.keys(sel).length) return true;
    return selectorMatches({ matchLabels: sel }, nodeLabels(this.cluster, n));
  }
}

/**
 * Labels of a node: the stored Node object's, else what K3s puts on its nodes.
 * @param {TwinCluster} cluster @param {TwinNode} n
 * @returns {Record<string, string>}
 */
export function nodeLabels(cluster, n) {
  const stored = cluster.store.get('/nodes', '', n.name);
  if (stored?.metadata.labels) return stored.metadata.labels;
  const server = cluster.nodes[0]?.name === n.name;
  return {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/instance-type': 'k3s',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'k3s',
    ...(server ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true' } : {}),
  };
}

/**
 * Deployment conditions carry lastUpdateTime too; both times move only when
 * the condition changes.
 * @param {any[]} conditions @param {{type: string, status: string, reason: string, message: string}} c
 */
function upsertDeploymentCondition(conditions, c) {
  const old = findCondition(conditions, c.type);
  if (old && old.status === c.status && old.reason === c.reason && old.message === c.message) return conditions;
  const now = nowIso();
  const next = {
    type: c.type,
    status: c.status,
    lastUpdateTime: now,
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
    reason: c.reason,
    message: c.message,
  };
  return [...conditions.filter((x) => x.type !== c.type), next];
}

/** @param {any[]} conditions @param {string[]} order */
function sortConditions(conditions, order) {
  return [...conditions].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}
