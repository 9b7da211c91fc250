// @ts-check
// The watch cache of one cluster: a ring of recent store events, each with the
// object's previous state, so a watch can start at a resourceVersion (replaying
// what happened since, as a real API server's watch cache does) and tell when an
// object enters or leaves a selector.

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */

/**
 * @typedef {object} HubEvent
 * @property {number} rv
 * @property {'ADDED'|'MODIFIED'|'DELETED'} type
 * @property {string} resource
 * @property {KubeObject} object
 * @property {KubeObject} [prev] the object before this event
 */

export class EventHub {
  /**
   * @param {import('../store/store.mjs').Store} store
   * @param {number} [size] events kept for watches that start in the past
   */
  constructor(store, size = 4096) {
    this.store = store;
    this.size = size;
    /** @type {HubEvent[]} */
    this.history = [];
    /** Watches from a resourceVersion older than this get 410 Expired. */
    this.oldestRv = store.rv;
    /** @type {Map<string, KubeObject>} "resource|ns/name" -> last known object */
    this.last = new Map();
    for (const [resource, table] of store.objects) {
      for (const [key, obj] of table) this.last.set(`${resource}|${key}`, obj);
    }
    /** @type {Set<(e: HubEvent) => void>} */
    this.listeners = new Set();
    this.onEvent = (/** @type {StoreEvent} */ ev) => {
      // Other listeners get the same event object: keep a private copy.
      const e = { ...ev, object: structuredClone(ev.object) };
      const key = `${e.resource}|${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}`;
      const prev = this.last.get(key);
      if (e.type === 'DELETED') this.last.delete(key);
      else this.last.set(key, e.object);
      /** @type {HubEvent} */
      const he = { rv: Number(e.object.metadata.resourceVersion), type: e.type, resource: e.resource, object: e.object, prev };
      this.history.push(he);
      if (this.history.length > this.size) {
        const dropped = this.history.splice(0, this.history.length - this.size);
        this.oldestRv = dropped[dropped.length - 1].rv;
      }
      for (const l of this.listeners) l(he);
    };
    store.on('event', this.onEvent);
  }

  /** @param {(e: HubEvent) => void} fn @returns {() => void} unsubscribe */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Events after `rv`, or null when they are no longer kept.
   * @param {number} rv
   * @returns {HubEvent[] | null}
   */
  since(rv) {
    if (rv < this.oldestRv) return null;
    return this.history.filter((e) => e.rv > rv);
  }

  close() {
    this.store.off('event', this.onEvent);
    this.listeners.clear();
  }
}
