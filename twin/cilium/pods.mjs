// @ts-check
// Pods of Cilium's workloads as `cilium status` / `clustermesh status` list them
// (by label selector). When the twin's controllers keep no Pod objects for a
// workload, the pods are derived from the workload's status (one per node for a
// DaemonSet, `replicas` for a Deployment), ready ones Running, the rest Pending,
// with stable Kubernetes-style names. Twin simplification, stated as such.
import { createHash } from 'node:crypto';
import { isNotFound } from './kube.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** Kubernetes-like random suffix, but derived from a seed. @param {string} seed @param {number} n */
export function suffix(seed, n) {
  const h = createHash('sha256').update(seed).digest();
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[h[i] % ALPHABET.length];
  return s;
}

/**
 * @typedef {object} PodView
 * @property {string} name
 * @property {string} phase
 * @property {boolean} running the named container runs
 * @property {string[]} images
 * @property {boolean} hostNetwork
 * @property {string} [waiting] waiting reason of the named container (e.g. CrashLoopBackOff)
 * @property {{ exitCode: number, message: string }} [lastTerminated] last termination of the named container
 */

/**
 * Pods matching a selector in a namespace; derived from `workload` when the API has none.
 * @param {import('./kube.mjs').Kube} kube @param {string} ns @param {string} selector
 * @param {KubeObject | null} workload the DaemonSet/Deployment they belong to, if known
 * @param {string} container container whose state matters
 * @returns {Promise<PodView[]>}
 */
export async function podsFor(kube, ns, selector, workload, container) {
  /** @type {KubeObject[]} */
  let pods = [];
  try { pods = await kube.list('Pod', ns, { labelSelector: selector }); } catch (e) { if (!isNotFound(e)) throw e; }
  if (pods.length > 0 || !workload) {
    return pods.map((p) => {
      const cs = (p.status?.containerStatuses ?? []).find((/** @type {any} */ c) => c.name === container);
      const phase = p.status?.phase ?? 'Pending';
      return {
        name: p.metadata.name,
        phase,
        running: phase === 'Running' && (cs ? !!cs.state?.running : true),
        images: (p.spec?.containers ?? []).map((/** @type {any} */ c) => c.image),
        hostNetwork: !!p.spec?.hostNetwork,
        waiting: cs?.state?.waiting?.reason,
        lastTerminated: cs?.lastState?.terminated ? { exitCode: Number(cs.lastState.terminated.exitCode ?? 0), message: String(cs.lastState.terminated.message ?? '') } : undefined,
      };
    });
  }
  return derivedPods(kube, workload);
}

/**
 * @param {import('./kube.mjs').Kube} kube @param {KubeObject} w
 * @returns {Promise<PodView[]>}
 */
async function derivedPods(kube, w) {
  const st = w.status ?? {};
  const images = (w.spec?.template?.spec?.containers ?? []).map((/** @type {any} */ c) => c.image);
  const hostNetwork = !!w.spec?.template?.spec?.hostNetwork;
  /** @type {string[]} */
  let names;
  let ready;
  if (w.kind === 'DaemonSet') {
    /** @type {KubeObject[]} */
    let nodes = [];
    try { nodes = await kube.list('Node', ''); } catch { nodes = []; }
    const want = st.desiredNumberScheduled ?? nodes.length;
    names = nodes.slice(0, want).map((n) => `${w.metadata.name}-${suffix(`${w.metadata.uid}/${n.metadata.name}`, 5)}`);
    ready = st.numberReady ?? 0;
  } else {
    const want = w.spec?.replicas ?? 1;
    const rs = suffix(`${w.metadata.uid}/${w.metadata.generation}`, 10);
    names = Array.from({ length: want }, (_, i) => `${w.metadata.name}-${rs}-${suffix(`${rs}/${i}`, 5)}`);
    ready = st.readyReplicas ?? 0;
  }
  return names.map((name, i) => ({ name, phase: i < ready ? 'Running' : 'Pending', running: i < ready, images, hostNetwork }));
}

/**
 * GET that answers null for NotFound.
 * @param {import('./kube.mjs').Kube} kube @param {string} kind @param {string} ns @param {string} name
 * @returns {Promise<KubeObject | null>}
 */
export async function getOrNull(kube, kind, ns, name) {
  try { return await kube.get(kind, ns, name); } catch (e) { if (isNotFound(e)) return null; throw e; }
}
