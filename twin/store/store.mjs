// @ts-check
// The object store of one simulated cluster: objects by resource, namespace and
// name, a resourceVersion counter shared by all of them, and an event stream that
// watches and controllers read. Everything handed out is a deep copy, so callers
// can never change stored state by accident.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';

/** @typedef {import('./types.js').KubeObject} KubeObject */
/** @typedef {import('./types.js').StoreEvent} StoreEvent */

export class StoreError extends Error {
  /**
   * @param {'NotFound'|'AlreadyExists'|'Conflict'|'Invalid'} reason
   * @param {string} message
   */
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

/** @template T @param {T} v @returns {T} */
const copy = (v) => structuredClone(v);

/**
 * JSON with object keys sorted: two objects that differ only in key order (a
 * patched object, a client's re-ordered body) compare equal, as in Go.
 * @param {unknown} v
 * @returns {string}
 */
const canonical = (v) => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x)
  ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]))
  : x));

export class Store extends EventEmitter {
  /** @param {string} cluster a name for messages and logs */
  constructor(cluster) {
    super();
    this.setMaxListeners(0);
    this.cluster = cluster;
    this.rv = 1;
    /** @type {Map<string, Map<string, KubeObject>>} resource -> "ns/name" -> object */
    this.objects = new Map();
  }

  /** @param {string} resource @returns {Map<string, KubeObject>} */
  table(resource) {
    let t = this.objects.get(resource);
    if (!t) this.objects.set(resource, (t = new Map()));
    return t;
  }

  /**
   * @param {string} resource "group/plural", core group empty: "/services", "apps/deployments"
   * @param {string} namespace '' for cluster-scoped objects
   * @param {string} name
   * @returns {KubeObject | undefined}
   */
  get(resource, namespace, name) {
    const o = this.table(resource).get(`${namespace}/${name}`);
    return o && copy(o);
  }

  /**
   * @param {string} resource
   * @param {string} [namespace] undefined: all namespaces
   * @returns {KubeObject[]}
   */
  list(resource, namespace) {
    const out = [];
    for (const o of this.table(resource).values()) {
      if (namespace === undefined || (o.metadata.namespace ?? '') === namespace) out.push(copy(o));
    }
    return out.sort((x, y) =>
      `${x.metadata.namespace ?? ''}/${x.metadata.name}`.localeCompare(`${y.metadata.namespace ?? ''}/${y.metadata.name}`));
  }

  /**
   * Stores a new object: sets uid, resourceVersion, creationTimestamp, generation.
   * @param {string} resource
   * @param {KubeObject} obj
   * @returns {KubeObject}
   */
  create(resource, obj) {
    const o = copy(obj);
    const ns = o.metadata.namespace ?? '';
    const key = `${ns}/${o.metadata.name}`;
    if (this.table(resource).has(key)) {
      throw new StoreError('AlreadyExists', `${resource.split('/')[1]} "${o.metadata.name}" already exists`);
    }
    o.metadata.uid = o.metadata.uid || randomUUID(); // a Job's uid is chosen with its selector (kinds/defaults.mjs)
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.generation = 1;
    o.metadata.resourceVersion = String(++this.rv);
    this.table(resource).set(key, o);
    this.emit('event', /** @type {StoreEvent} */ ({ type: 'ADDED', resource, object: copy(o) }));
    return copy(o);
  }

  /**
   * Replaces a stored object. Bumps metadata.generation when anything but
   * metadata and status changed. With `expectRv`, refuses a stale write (Conflict).
   * @param {string} resource
   * @param {KubeObject} obj
   * @param {{ expectRv?: string }} [opts]
   * @returns {KubeObject}
   */
  update(resource, obj, opts = {}) {
    const o = copy(obj);
    const ns = o.metadata.namespace ?? '';
    const key = `${ns}/${o.metadata.name}`;
    const old = this.table(resource).get(key);
    if (!old) throw new StoreError('NotFound', `${resource.split('/')[1]} "${o.metadata.name}" not found`);
    if (opts.expectRv && opts.expectRv !== old.metadata.resourceVersion) {
      throw new StoreError('Conflict',
        `Operation cannot be fulfilled on ${resource.split('/')[1]} "${o.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    const { metadata: _m1, status: _s1, ...oldBody } = old;
    const { metadata: _m2, status: _s2, ...newBody } = o;
    o.metadata.uid = old.metadata.uid;
    o.metadata.creationTimestamp = old.metadata.creationTimestamp;
    o.metadata.generation = (old.metadata.generation ?? 1) +
      (canonical(oldBody) === canonical(newBody) ? 0 : 1);
    if (canonical(old) === canonical({ ...o, metadata: { ...o.metadata, resourceVersion: old.metadata.resourceVersion } })) {
      return copy(old); // nothing changed: no new resourceVersion, no event
    }
    o.metadata.resourceVersion = String(++this.rv);
    this.table(resource).set(key, o);
    this.emit('event', /** @type {StoreEvent} */ ({ type: 'MODIFIED', resource, object: copy(o) }));
    return copy(o);
  }

  /**
   * @param {string} resource
   * @param {string} namespace
   * @param {string} name
   * @returns {KubeObject}
   */
  delete(resource, namespace, name) {
    const key = `${namespace}/${name}`;
    const old = this.table(resource).get(key);
    if (!old) throw new StoreError('NotFound', `${resource.split('/')[1]} "${name}" not found`);
    this.table(resource).delete(key);
    const gone = copy(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit('event', /** @type {StoreEvent} */ ({ type: 'DELETED', resource, object: gone }));
    return copy(gone);
  }
}
