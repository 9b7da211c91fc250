// @ts-check
// The kubelet's volume rule, for the twin and the real backend alike: a pod's
// containers start only once every volume mounts. A `secret` or `configMap`
// volume (or such a source of a `projected` volume) that is not optional
// fails to mount while its object is missing; the pod stays Pending, its
// containers waiting ContainerCreating, and the kubelet records a Warning
// FailedMount on the pod:
//   MountVolume.SetUp failed for volume "<vol>" : secret "<name>" not found
// (a projected volume with several missing sources lists them all, as
// `[a, b]`). The ConfigMap kube-root-ca.crt of the service-account token
// volume is not checked: the twin does not publish it into namespaces.
import { recordWarning } from './events.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/store.mjs').Store} Store */

/** The ConfigMap every namespace gets from the real controller-manager; not gated on. */
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

/**
 * @typedef {object} VolumeNeed a volume and the objects it cannot mount without
 * @property {string} volume the volume's name
 * @property {Array<{ kind: 'secret' | 'configmap', name: string }>} objects
 */

/**
 * The volumes of a pod spec that need a Secret or ConfigMap to exist.
 * @param {any} podSpec @returns {VolumeNeed[]}
 */
export function volumeNeeds(podSpec) {
  /** @type {VolumeNeed[]} */
  const out = [];
  for (const v of /** @type {any[]} */ (podSpec?.volumes ?? [])) {
    /** @type {VolumeNeed['objects']} */
    const objects = [];
    if (v?.secret && v.secret.optional !== true && v.secret.secretName) objects.push({ kind: 'secret', name: v.secret.secretName });
    if (v?.configMap && v.configMap.optional !== true && v.configMap.name) objects.push({ kind: 'configmap', name: v.configMap.name });
    for (const s of /** @type {any[]} */ (v?.projected?.sources ?? [])) {
      if (s?.secret && s.secret.optional !== true && s.secret.name) objects.push({ kind: 'secret', name: s.secret.name });
      if (s?.configMap && s.configMap.optional !== true && s.configMap.name && s.configMap.name !== ROOT_CA_CONFIGMAP) {
        objects.push({ kind: 'configmap', name: s.configMap.name });
      }
    }
    if (objects.length) out.push({ volume: String(v.name), objects });
  }
  return out;
}

/**
 * The kubelet's FailedMount message for a volume whose `missing` objects are absent.
 * @param {string} volume @param {VolumeNeed['objects']} missing
 */
export function failedMountMessage(volume, missing) {
  const errs = missing.map((m) => `${m.kind} "${m.name}" not found`);
  return `MountVolume.SetUp failed for volume "${volume}" : ${errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`}`;
}

/**
 * The volumes of the pod that cannot mount in the twin's store, with what is missing.
 * @param {Store} store @param {KubeObject} pod @returns {VolumeNeed[]}
 */
export function unmountable(store, pod) {
  const ns = pod.metadata.namespace ?? 'default';
  return volumeNeeds(pod.spec).map((n) => ({
    volume: n.volume,
    objects: n.objects.filter((o) => !store.get(o.kind === 'secret' ? '/secrets' : '/configmaps', ns, o.name)),
  })).filter((n) => n.objects.length);
}

/**
 * Whether the pod's volumes all mount; when not, records FailedMount on the
 * pod once per volume and message, as the kubelet on its node does.
 * @param {Store} store @param {KubeObject} pod
 */
export function volumesMount(store, pod) {
  const failing = unmountable(store, pod);
  for (const f of failing) {
    recordWarning(store, { ...pod, apiVersion: 'v1', kind: 'Pod' }, 'FailedMount', failedMountMessage(f.volume, f.objects),
      { component: 'kubelet', host: pod.spec?.nodeName }, { once: true });
  }
  return failing.length === 0;
}
