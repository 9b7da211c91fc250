// @ts-check
// The Job controller, with the scheduler's and the kubelet's part
// for Job pods, reduced to what the runbook and the cilium chart need:
// - a Job gets pods `<job>-<5 alnum>` (labels of its template, controller
//   reference to the Job) up to `parallelism`, until `completions` succeeded;
//   a pod is scheduled where the CNI runs (any node for host-network pods),
//   runs `podReadyMs` later and succeeds another `podReadyMs` later. A certgen
//   container (see certgen.mjs) does its work while it runs; when that fails the
//   pod restarts (OnFailure) or fails (Never), until backoffLimit is passed.
// - status follows the real controller (1.31+): active/ready/succeeded/failed,
//   startTime, and on success SuccessCriteriaMet then Complete with
//   completionTime; on too many failures FailureTarget then Failed.
// - garbage collection: pods whose Job is gone (deleted with the Background or
//   Foreground policy; an orphaning delete removed the references first), and
//   Jobs whose CronJob is gone; ttlSecondsAfterFinished deletes a finished Job.
// CronJobs make their Jobs in cronjobs.mjs.
import { randomBytes } from 'node:crypto';
import {
  Debouncer, KUBE_SYSTEM, Timers, ciliumAgentNodes, ciliumConfig, findCondition, nowIso, numToIp, parseCidr, randSuffix,
} from './util.mjs';
import { isCertgen, runCertgen } from './certgen.mjs';
import { admitPod } from './pod-admission.mjs';
import { volumesMount } from './pod-volumes.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinCluster} TwinCluster */

const JOBS = 'batch/jobs';
const CRONJOBS = 'batch/cronjobs';
const PODS = '/pods';

/** @param {Twin} twin */
export function startJobs(twin) {
  const parts = Object.values(twin.clusters).map((c) => new ClusterJobs(twin, c));
  return { stop() { for (const p of parts) p.stop(); } };
}

/** @param {KubeObject} o @param {string} kind */
const controllerOf = (o, kind) => /** @type {any[]} */ (o.metadata.ownerReferences ?? []).find((r) => r?.kind === kind && r?.controller);

/** @param {KubeObject} pod */
const terminal = (pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** @param {any[] | undefined} conds @param {string} type */
const isTrue = (conds, type) => findCondition(conds, type)?.status === 'True';

/** @param {KubeObject} job */
const finished = (job) => isTrue(job.status?.conditions, 'Complete') || isTrue(job.status?.conditions, 'Failed');

/** @param {string} type @param {string} reason @param {string} message @param {string} now */
const cond = (type, reason, message, now) => ({ type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message });

/** @param {any} podSpec */
const anyNode = (podSpec) => podSpec?.hostNetwork === true || (podSpec?.tolerations ?? []).some((/** @type {any} */ t) =>
  (t.operator === 'Exists' && !t.key) || t.key === 'node.kubernetes.io/not-ready');

class ClusterJobs {
  /** @param {Twin} twin @param {TwinCluster} cluster */
  constructor(twin, cluster) {
    this.twin = twin;
    this.cluster = cluster;
    this.store = cluster.store;
    this.timers = new Timers();
    /** @type {Set<string>} "ns|name" of Jobs to reconcile */
    this.dirty = new Set();
    this.flusher = new Debouncer(() => this.flush(), () => 0);
    /** @type {Set<string>} uids of pods whose containers are at work */
    this.working = new Set();
    /** @param {StoreEvent} ev */
    this.onEvent = (ev) => this.handle(ev);
    this.store.on('event', this.onEvent);
    for (const j of this.store.list(JOBS)) this.mark(j.metadata.namespace ?? '', j.metadata.name);
  }

  stop() {
    this.store.off('event', this.onEvent);
    this.flusher.stop();
    this.timers.stop();
  }

  get delays() { return this.twin.options.delays; }

  /** @param {string} ns @param {string} name */
  mark(ns, name) {
    this.dirty.add(`${ns}|${name}`);
    this.flusher.kick();
  }

  /** @param {StoreEvent} ev */
  handle(ev) {
    const o = ev.object;
    const ns = o.metadata.namespace ?? '';
    if (ev.resource === JOBS) this.mark(ns, o.metadata.name);
    else if (ev.resource === CRONJOBS && ev.type === 'DELETED') {
      for (const j of this.store.list(JOBS, ns)) if (controllerOf(j, 'CronJob')?.uid === o.metadata.uid) this.deleteJob(j);
    } else if ((ev.resource === '/serviceaccounts' || ev.resource === '/secrets' || ev.resource === '/configmaps') && ev.type === 'ADDED') {
      // Pods refused for want of this account, or whose volumes could not mount, are tried again.
      for (const j of this.store.list(JOBS, ns)) if (!finished(j)) this.mark(ns, j.metadata.name);
    } else if (ev.resource === PODS) {
      const owner = controllerOf(o, 'Job');
      if (owner?.name) this.mark(ns, owner.name);
      // A cilium agent that starts or stops changes where Job pods can run.
      if (ns === KUBE_SYSTEM && controllerOf(o, 'DaemonSet')?.name === 'cilium') {
        for (const j of this.store.list(JOBS)) if (!finished(j)) this.mark(j.metadata.namespace ?? '', j.metadata.name);
      }
    }
  }

  flush() {
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) {
      const [ns, name] = key.split('|');
      this.reconcile(ns, name);
    }
  }

  /** Deletes a Job with the Background policy: its pods follow. @param {KubeObject} job */
  deleteJob(job) {
    try { this.store.delete(JOBS, job.metadata.namespace ?? '', job.metadata.name); } catch { /* gone */ }
  }

  /** Graceful for running pods (the workload controller removes them after podTerminateMs), at once otherwise. @param {KubeObject} pod */
  removePod(pod) {
    const ns = pod.metadata.namespace ?? '';
    this.timers.clear(`run|${pod.metadata.uid}`);
    if (pod.status?.phase !== 'Running') {
      try { this.store.delete(PODS, ns, pod.metadata.name); } catch { /* gone */ }
      return;
    }
    if (pod.metadata.deletionTimestamp) return;
    pod.metadata.deletionTimestamp = nowIso();
    pod.metadata.deletionGracePeriodSeconds = 0;
    try { this.store.update(PODS, pod); } catch { /* gone */ }
  }

  /** @param {string} ns @param {string} name */
  reconcile(ns, name) {
    const job = this.store.get(JOBS, ns, name);
    const pods = this.store.list(PODS, ns).filter((p) => controllerOf(p, 'Job')?.name === name);
    for (const p of pods) if (!job || controllerOf(p, 'Job')?.uid !== job.metadata.uid) this.removePod(p);
    if (!job) return;
    const mine = pods.filter((p) => controllerOf(p, 'Job')?.uid === job.metadata.uid);
    const spec = job.spec ?? {};
    const now = nowIso();
    const st = { ...(job.status ?? {}) };
    if (finished(job)) return this.scheduleTtl(job);
    if (spec.suspend) return;
    st.startTime ??= now;
    const active = mine.filter((p) => !terminal(p) && !p.metadata.deletionTimestamp);
    const succeeded = mine.filter((p) => p.status?.phase === 'Succeeded').length;
    const failed = mine.filter((p) => p.status?.phase === 'Failed').length;
    const restarts = mine.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((/** @type {number} */ m, /** @type {any} */ c) => m + (c.restartCount ?? 0), 0), 0);
    const completions = spec.completions ?? 1;
    const backoffLimit = spec.backoffLimit ?? 6;
    /** @type {any[]} */
    let conditions = [...(st.conditions ?? [])];
    if (failed > backoffLimit || (spec.template?.spec?.restartPolicy === 'OnFailure' && restarts > backoffLimit)) {
      for (const p of active) this.removePod(p);
      const msg = 'Job has reached the specified backoff limit';
      conditions = [...conditions.filter((c) => c.type !== 'FailureTarget' && c.type !== 'Failed'),
        cond('FailureTarget', 'BackoffLimitExceeded', msg, now), cond('Failed', 'BackoffLimitExceeded', msg, now)];
      Object.assign(st, { conditions, active: 0, ready: 0 });
    } else if (succeeded >= completions) {
      const msg = 'Reached expected number of succeeded pods';
      conditions = [...conditions.filter((c) => c.type !== 'SuccessCriteriaMet' && c.type !== 'Complete'),
        cond('SuccessCriteriaMet', 'CompletionsReached', msg, now), cond('Complete', 'CompletionsReached', msg, now)];
      Object.assign(st, { conditions, completionTime: now, active: 0, ready: 0 });
    } else {
      const want = Math.max(0, Math.min(spec.parallelism ?? 1, completions - succeeded) - active.length);
      for (let i = 0; i < want; i++) {
        const pod = this.createPod(job);
        if (pod) active.push(pod);
      }
      for (const p of active) this.progress(p);
      st.active = active.length;
      st.ready = active.filter((p) => isTrue(p.status?.conditions, 'Ready')).length;
      if (conditions.length) st.conditions = conditions;
    }
    Object.assign(st, { succeeded, failed, terminating: 0, uncountedTerminatedPods: {} });
    for (const k of ['active', 'succeeded', 'failed']) if (!st[k]) delete st[k];
    const next = { ...job, status: st };
    if (JSON.stringify(next.status) !== JSON.stringify(job.status)) {
      try { this.store.update(JOBS, next); } catch { /* changed meanwhile: its event reconciles again */ }
    }
  }

  /** @param {KubeObject} job */
  scheduleTtl(job) {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== 'number') return;
    const uid = job.metadata.uid;
    this.timers.ensure(`ttl|${uid}`, ttl * 1000, () => {
      const j = this.store.get(JOBS, job.metadata.namespace ?? '', job.metadata.name);
      if (j && j.metadata.uid === uid) this.deleteJob(j);
    });
  }

  /** @param {KubeObject} job @returns {KubeObject | undefined} */
  createPod(job) {
    const template = job.spec?.template ?? {};
    const spec = structuredClone(template.spec ?? {});
    spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.enableServiceLinks ??= true;
    spec.priority ??= 0;
    /** @type {KubeObject} */
    const pod = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: `${job.metadata.name}-${randSuffix(5)}`,
        generateName: `${job.metadata.name}-`,
        namespace: job.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
      status: { phase: 'Pending', qosClass: 'BestEffort' },
    };
    if (!admitPod(this.store, job, pod, 'job-controller')) return undefined;
    try { return this.store.create(PODS, pod); } catch { return undefined; }
  }

  /**
   * Schedules a pending pod, and starts it `podReadyMs` later; a running pod
   * nobody works on (a twin restarted from saved state) runs again.
   * @param {KubeObject} pod
   */
  progress(pod) {
    if (pod.metadata.deletionTimestamp) return;
    const uid0 = pod.metadata.uid ?? '';
    if (pod.status?.phase === 'Running' && !this.working.has(uid0) && !this.timers.has(`run|${uid0}`)) {
      this.run(pod).catch((err) => console.error('[twin] job pod error:', err));
      return;
    }
    if (pod.status?.phase !== 'Pending') return;
    const ns = pod.metadata.namespace ?? '';
    if (!pod.spec?.nodeName) {
      const nodes = this.cluster.nodes.map((n) => n.name);
      const cni = ciliumAgentNodes(this.store, this.cluster.nodes);
      const candidates = anyNode(pod.spec) ? nodes : nodes.filter((n) => cni.has(n));
      const now = nowIso();
      if (!candidates.length) {
        const n = nodes.length;
        const msg = `0/${n} nodes are available: ${n} node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`;
        if (findCondition(pod.status?.conditions, 'PodScheduled')?.reason === 'Unschedulable') return;
        pod.status = { phase: 'Pending', qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: now, reason: 'Unschedulable', message: msg }] };
        try { this.store.update(PODS, pod); } catch { /* gone */ }
        return;
      }
      const nodeName = candidates[Math.floor(Math.random() * candidates.length)];
      const node = this.cluster.nodes.find((n) => n.name === nodeName);
      pod.spec.nodeName = nodeName;
      pod.status = {
        phase: 'Pending', qosClass: 'BestEffort', startTime: now, hostIP: node?.ip, hostIPs: node ? [{ ip: node.ip }] : undefined,
        conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now }],
        containerStatuses: (pod.spec?.containers ?? []).map((/** @type {any} */ c) => ({
          name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {},
        })),
      };
      try { pod = this.store.update(PODS, pod); } catch { return; }
    }
    if (!volumesMount(this.store, pod)) return; // see pod-volumes.mjs
    const uid = pod.metadata.uid ?? '';
    this.timers.ensure(`run|${uid}`, this.delays.podReadyMs, () => {
      const p = this.store.get(PODS, ns, pod.metadata.name);
      if (!p || p.metadata.uid !== uid || p.metadata.deletionTimestamp || terminal(p)) return;
      this.setRunning(p);
      const running = this.store.update(PODS, p);
      this.run(running).catch((err) => console.error('[twin] job pod error:', err));
    });
  }

  /**
   * A free address in the node's slice of Cilium's cluster pool (K3s's 10.42.0.0/16
   * without Cilium), from the top of the slice, where the workload controller's
   * addresses (from the bottom) do not reach first.
   * @param {string} nodeName
   */
  podIp(nodeName) {
    const cfg = ciliumConfig(this.store);
    const first = String(cfg?.['cluster-pool-ipv4-cidr'] ?? '').split(/[\s,]+/).find(Boolean) ?? '10.42.0.0/16';
    const cidr = parseCidr(first) ?? /** @type {{ from: number, to: number, bits: number }} */ (parseCidr('10.42.0.0/16'));
    const mask = Math.max(cidr.bits, Math.min(30, Number(cfg?.['cluster-pool-ipv4-mask-size'] ?? 24) || 24));
    const size = 2 ** (32 - mask);
    const slices = Math.max(1, Math.floor((cidr.to - cidr.from + 1) / size));
    const base = cidr.from + (Math.max(0, this.cluster.nodes.findIndex((n) => n.name === nodeName)) % slices) * size;
    const used = new Set(this.store.list('/pods').map((p) => p.status?.podIP));
    for (let host = size - 2; host > 1; host--) if (!used.has(numToIp(base + host))) return numToIp(base + host);
    return numToIp(base + size - 2);
  }

  /** @param {KubeObject} p */
  setRunning(p) {
    const now = nowIso();
    const node = this.cluster.nodes.find((n) => n.name === p.spec.nodeName);
    const ip = p.spec?.hostNetwork ? node?.ip : p.status?.podIP ?? this.podIp(p.spec.nodeName);
    const prev = /** @type {any[]} */ (p.status?.containerStatuses ?? []);
    p.status = {
      ...p.status, phase: 'Running', podIP: ip, podIPs: ip ? [{ ip }] : undefined,
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']
        .map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now })),
      containerStatuses: (p.spec.containers ?? []).map((/** @type {any} */ c) => ({
        name: c.name, image: c.image, imageID: '', containerID: `containerd://${randomBytes(32).toString('hex')}`,
        ready: true, started: true, restartCount: prev.find((x) => x.name === c.name)?.restartCount ?? 0,
        state: { running: { startedAt: now } }, lastState: prev.find((x) => x.name === c.name)?.lastState ?? {},
      })),
    };
  }

  /**
   * The containers' work: certgen's, or nothing; then the pod succeeds, or its
   * container fails (restarted after a back-off with OnFailure, the pod Failed with Never).
   * @param {KubeObject} pod
   */
  async run(pod) {
    const ns = pod.metadata.namespace ?? '';
    const uid = pod.metadata.uid ?? '';
    /** @type {string} */
    let error = '';
    const started = Date.now();
    this.working.add(uid);
    try {
      for (const c of pod.spec.containers ?? []) if (isCertgen(c)) await runCertgen(this.store, ns, c);
    } catch (err) {
      error = /** @type {Error} */ (err).message;
    } finally {
      this.working.delete(uid);
    }
    if (this.timers.stopped) return;
    const wait = Math.max(0, this.delays.podReadyMs - (Date.now() - started));
    this.timers.ensure(`run|${uid}`, wait, () => {
      const p = this.store.get(PODS, ns, pod.metadata.name);
      if (!p || p.metadata.uid !== uid || p.metadata.deletionTimestamp || p.status?.phase !== 'Running') return;
      const now = nowIso();
      const exit = (/** @type {any} */ cs) => ({
        exitCode: error ? 1 : 0, reason: error ? 'Error' : 'Completed', ...(error ? { message: error } : {}),
        startedAt: cs.state?.running?.startedAt ?? now, finishedAt: now, containerID: cs.containerID,
      });
      if (error && p.spec.restartPolicy === 'OnFailure') {
        p.status.containerStatuses = p.status.containerStatuses.map((/** @type {any} */ cs) => ({
          ...cs, ready: false, started: false, restartCount: (cs.restartCount ?? 0) + 1, lastState: { terminated: exit(cs) },
          state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${cs.name} pod=${p.metadata.name}_${ns}(${uid})` } },
        }));
        p.status.phase = 'Pending';
        p.status.conditions = p.status.conditions.map((/** @type {any} */ c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now } : c));
      } else {
        p.status.phase = error ? 'Failed' : 'Succeeded';
        p.status.conditions = p.status.conditions.map((/** @type {any} */ c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'PodCompleted', lastTransitionTime: now } : c));
        p.status.containerStatuses = p.status.containerStatuses.map((/** @type {any} */ cs) => ({ ...cs, ready: false, started: false, state: { terminated: exit(cs) } }));
      }
      this.store.update(PODS, p);
    });
  }
}
