// @ts-check
// What one API server serves: the built-in resources plus the custom resources
// of every CustomResourceDefinition in its store that is Established. The CRD
// list is re-read only after a CRD changed.
import { BUILTIN_RESOURCES, BUILTIN_GROUP_ORDER, ALL_VERBS, CRD_KEY } from './builtin.mjs';

/** @typedef {import('./builtin.mjs').ResourceInfo} ResourceInfo */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */

/** @param {KubeObject} crd @param {string} type */
export function crdCondition(crd, type) {
  /** @type {Array<{type: string, status: string}>} */
  const conds = crd.status?.conditions ?? [];
  return conds.find((c) => c.type === type);
}

/** @param {KubeObject} crd */
export function isEstablished(crd) {
  return crdCondition(crd, 'Established')?.status === 'True';
}

/**
 * @param {KubeObject} crd
 * @returns {ResourceInfo | undefined}
 */
export function resourceFromCrd(crd) {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  /** @type {Array<any>} */
  const versions = (spec.versions ?? []).filter((/** @type {any} */ v) => v.served !== false);
  if (!spec.group || !names.plural || !names.kind || versions.length === 0) return undefined;
  const storage = (spec.versions ?? []).find((/** @type {any} */ v) => v.storage)?.name ?? versions[0].name;
  // Discovery lists versions by Kubernetes version priority; the storage version first is close enough.
  const ordered = [storage, ...versions.map((v) => v.name).filter((n) => n !== storage)].filter((n) => versions.some((v) => v.name === n));
  /** @type {ResourceInfo['subresources']} */
  const subresources = {};
  const sv = versions.find((v) => v.name === storage) ?? versions[0];
  if (sv.subresources?.status) subresources.status = { group: spec.group, version: sv.name, kind: names.kind, verbs: ['get', 'patch', 'update'] };
  if (sv.subresources?.scale) subresources.scale = { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
  return {
    group: spec.group,
    versions: ordered.length ? ordered : [storage],
    storageVersion: storage,
    plural: names.plural,
    singular: names.singular ?? names.kind.toLowerCase(),
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    namespaced: spec.scope !== 'Cluster',
    shortNames: names.shortNames ?? [],
    verbs: ALL_VERBS,
    categories: names.categories ?? [],
    subresources,
    key: `${spec.group}/${names.plural}`,
    crd,
  };
}

export class Registry {
  /** @param {import('../store/store.mjs').Store} store */
  constructor(store) {
    this.store = store;
    /** @type {ResourceInfo[] | null} */
    this.cache = null;
    this.onEvent = (/** @type {import('../store/types.js').StoreEvent} */ e) => {
      if (e.resource === CRD_KEY) this.cache = null;
    };
    store.on('event', this.onEvent);
  }

  close() {
    this.store.off('event', this.onEvent);
  }

  /** @returns {ResourceInfo[]} built-ins, then served custom resources */
  all() {
    if (!this.cache) {
      const custom = [];
      for (const crd of this.store.list(CRD_KEY)) {
        if (!isEstablished(crd)) continue;
        const info = resourceFromCrd(crd);
        if (info && !BUILTIN_RESOURCES.some((b) => b.group === info.group)) custom.push(info);
      }
      this.cache = [...BUILTIN_RESOURCES, ...custom];
    }
    return this.cache;
  }

  /**
   * @param {string} group @param {string} version @param {string} plural
   * @returns {ResourceInfo | undefined}
   */
  find(group, version, plural) {
    return this.all().find((r) => r.group === group && r.plural === plural && r.versions.includes(version));
  }

  /** @param {string} group @param {string} version */
  hasGroupVersion(group, version) {
    return this.all().some((r) => r.group === group && r.versions.includes(version));
  }

  /** @param {string} group @param {string} kind @returns {ResourceInfo | undefined} */
  findKind(group, kind) {
    return this.all().find((r) => r.group === group && r.kind === kind);
  }

  /**
   * API groups (without the core group) with versions, preferred first.
   * @returns {Array<{ name: string, versions: string[] }>}
   */
  groups() {
    /** @type {Map<string, string[]>} */
    const m = new Map();
    for (const g of BUILTIN_GROUP_ORDER) m.set(g, []);
    for (const r of this.all()) {
      if (!r.group) continue;
      const vs = m.get(r.group) ?? [];
      for (const v of r.versions) if (!vs.includes(v)) vs.push(v);
      m.set(r.group, vs);
    }
    return [...m].filter(([, vs]) => vs.length).map(([name, versions]) => ({ name, versions: versions.sort(byKubeVersion) }));
  }
}

/**
 * Kubernetes' version priority (apimachinery's CompareKubeAwareVersionStrings):
 * GA before beta before alpha, higher numbers first; so cilium.io prefers v2
 * over v2alpha1 and kubectl reads pools as v2, like on a real cluster.
 * @param {string} a @param {string} b
 */
export function byKubeVersion(a, b) {
  /** @param {string} v */
  const rank = (v) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    return [m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 0, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [ka, ma, na] = rank(a);
  const [kb, mb, nb] = rank(b);
  if (ka !== kb) return ka - kb;
  if (ma !== mb) return mb - ma;
  return nb - na;
}
