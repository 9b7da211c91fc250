// @ts-check
// The four patch types of the Kubernetes API:
//   application/strategic-merge-patch+json  built-in kinds; lists merge by their patch merge key
//   application/merge-patch+json            RFC 7386
//   application/json-patch+json             RFC 6902
//   application/apply-patch+yaml            server-side apply (create or merge, simplified)
import { ApiError } from '../kinds/errors.mjs';

/** @typedef {import('../kinds/patch-meta.mjs').ListMeta} ListMeta */
/** @typedef {(path: string) => ListMeta | undefined} MetaFn */

/** @param {unknown} v @returns {v is Record<string, any>} */
export const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** @template T @param {T} v @returns {T} */
const clone = (v) => structuredClone(v);

/** @param {string} message @param {string} [field] */
function patchError(message, field = 'patch') {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request`, {
    causes: [{ reason: 'FieldValueInvalid', message, field }],
  });
}

/**
 * RFC 7386 JSON merge patch.
 * @param {unknown} target @param {unknown} patch @returns {any}
 */
export function mergePatch(target, patch) {
  if (!isObj(patch)) return clone(patch);
  const out = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** @param {string} ptr @returns {string[]} */
function pointer(ptr) {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw patchError(`invalid JSON pointer "${ptr}"`);
  return ptr.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * @param {any} doc @param {string[]} parts
 * @returns {{ parent: any, key: string }}
 */
function locate(doc, parts, ptr = '') {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObj(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined) throw patchError(`doc is missing path: "${ptr}": missing value`);
  }
  return { parent: cur, key: parts[parts.length - 1] };
}

/**
 * RFC 6902 JSON patch.
 * @param {unknown} target @param {unknown} ops @returns {any}
 */
export function jsonPatch(target, ops) {
  if (!Array.isArray(ops)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  /** @param {string} path */
  const get = (path) => {
    const parts = pointer(path);
    if (!parts.length) return doc;
    const { parent, key } = locate(doc, parts, path);
    const v = Array.isArray(parent) ? parent[Number(key)] : isObj(parent) ? parent[key] : undefined;
    if (v === undefined) throw patchError(`doc is missing path: "${path}": missing value`);
    return v;
  };
  /** @param {string} path */
  const remove = (path) => {
    const parts = pointer(path);
    const { parent, key } = locate(doc, parts, path);
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!(i >= 0 && i < parent.length)) throw patchError(`Unable to remove nonexistent key: ${key}: missing value`);
      return parent.splice(i, 1)[0];
    }
    if (!isObj(parent) || !(key in parent)) throw patchError(`Unable to remove nonexistent key: ${key}: missing value`);
    const v = parent[key];
    delete parent[key];
    return v;
  };
  /** @param {string} path @param {unknown} value @param {boolean} replace */
  const put = (path, value, replace) => {
    const parts = pointer(path);
    if (!parts.length) { doc = clone(value); return; }
    const { parent, key } = locate(doc, parts, path);
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key);
      if (!(i >= 0 && i <= parent.length) || (replace && i >= parent.length)) throw patchError(`Unable to access invalid index: ${key}: invalid index referenced`);
      if (replace) parent[i] = clone(value);
      else parent.splice(i, 0, clone(value));
    } else if (isObj(parent)) {
      if (replace && !(key in parent)) throw patchError(`Unable to replace nonexistent key: ${key}: missing value`);
      parent[key] = clone(value);
    } else {
      throw patchError(`doc is missing path: "${path}": missing value`);
    }
  };
  for (const op of ops) {
    if (!isObj(op)) throw patchError('invalid patch operation');
    switch (op.op) {
      case 'add': put(op.path, op.value, false); break;
      case 'remove': remove(op.path); break;
      case 'replace': put(op.path, op.value, true); break;
      case 'move': { const v = remove(op.from); put(op.path, v, false); break; }
      case 'copy': put(op.path, get(op.from), false); break;
      case 'test':
        if (JSON.stringify(get(op.path)) !== JSON.stringify(op.value)) throw patchError(`testing value ${op.path} failed: test failed`);
        break;
      default: throw patchError(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

/** @param {any} a @param {any} b @param {string | string[]} key */
function sameKey(a, b, key) {
  const keys = Array.isArray(key) ? key : [key];
  return isObj(a) && isObj(b) && keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

/**
 * Orders `list` by `order` (items matched by key, or by value for primitives);
 * items missing from `order` keep their relative order after the ordered ones.
 * @param {any[]} list @param {any[]} order @param {string | string[] | undefined} key
 */
function applyOrder(list, order, key) {
  const idx = (/** @type {any} */ item) => order.findIndex((o) => (key ? sameKey(item, o, key) : JSON.stringify(item) === JSON.stringify(o)));
  const ordered = list.filter((x) => idx(x) >= 0).sort((x, y) => idx(x) - idx(y));
  return [...ordered, ...list.filter((x) => idx(x) < 0)];
}

/**
 * Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch), with the
 * directives $patch (replace|delete|merge), $retainKeys, $setElementOrder/<field>
 * and $deleteFromPrimitiveList/<field>.
 * @param {unknown} original
 * @param {unknown} patch
 * @param {MetaFn} meta
 * @returns {any}
 */
export function strategicMerge(original, patch, meta) {
  if (!isObj(patch)) throw new ApiError(400, 'BadRequest', 'unable to find api field in struct for the patch: not a JSON object');
  const r = mergeMap(isObj(original) ? original : {}, patch, '', meta);
  return r === undefined ? {} : r;
}

/**
 * @param {Record<string, any>} orig @param {Record<string, any>} patch @param {string} path @param {MetaFn} meta
 * @returns {Record<string, any> | undefined} undefined: delete the map
 */
function mergeMap(orig, patch, path, meta) {
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return mergeMap({}, rest, path, meta);
  }
  const out = clone(orig);
  /** @type {Array<[string, any[]]>} */
  const orders = [];
  for (const [k, pv] of Object.entries(patch)) {
    const child = path ? `${path}.${k}` : k;
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) { orders.push([k.slice('$setElementOrder/'.length), Array.isArray(pv) ? pv : []]); continue; }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(pv)) {
        out[field] = out[field].filter((/** @type {unknown} */ x) => !pv.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      }
      continue;
    }
    if (k.startsWith('$')) continue;
    if (pv === null) delete out[k];
    else if (isObj(pv)) {
      const r = mergeMap(isObj(out[k]) ? out[k] : {}, pv, child, meta);
      if (r === undefined) delete out[k];
      else out[k] = r;
    } else if (Array.isArray(pv)) out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], pv, child, meta);
    else out[k] = pv;
  }
  for (const [field, order] of orders) {
    if (Array.isArray(out[field])) out[field] = applyOrder(out[field], order, meta(path ? `${path}.${field}` : field)?.mergeKey);
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(out)) if (!patch.$retainKeys.includes(k)) delete out[k];
  }
  return out;
}

/** @param {any} item @param {string} path @param {MetaFn} meta */
function cleanItem(item, path, meta) {
  return isObj(item) ? mergeMap({}, item, path, meta) : item;
}

/**
 * @param {any[]} orig @param {any[]} patch @param {string} path @param {MetaFn} meta
 * @returns {any[]}
 */
function mergeList(orig, patch, path, meta) {
  const m = meta(path);
  const itemPath = `${path}[]`;
  if (patch.some((x) => isObj(x) && x.$patch === 'replace')) {
    return patch.filter((x) => !(isObj(x) && x.$patch === 'replace')).map((x) => cleanItem(x, itemPath, meta));
  }
  if (m?.primitive) {
    const out = [...orig];
    for (const x of patch) if (!out.some((y) => JSON.stringify(y) === JSON.stringify(x))) out.push(x);
    return out;
  }
  const key = m?.mergeKey;
  if (!key) return patch.filter((x) => !(isObj(x) && x.$patch)).map((x) => cleanItem(x, itemPath, meta));
  const out = clone(orig);
  for (const item of patch) {
    if (!isObj(item)) continue;
    const i = out.findIndex((o) => sameKey(o, item, key));
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = mergeMap(out[i], item, itemPath, meta) ?? out[i];
    else out.push(mergeMap({}, item, itemPath, meta));
  }
  return out;
}

/**
 * Server-side apply, simplified: the applied configuration is merged into the
 * live object (maps merge, keyed lists merge by their key, other lists are
 * replaced). Fields an earlier apply set and this one leaves out are kept.
 * @param {unknown} live @param {unknown} applied @param {MetaFn} meta
 */
export function applyMerge(live, applied, meta) {
  /** @param {unknown} v @returns {unknown} */
  const dropNulls = (v) => {
    if (Array.isArray(v)) return v.map(dropNulls);
    if (!isObj(v)) return v;
    /** @type {Record<string, unknown>} */
    const o = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) o[k] = dropNulls(x);
    return o;
  };
  return strategicMerge(live, dropNulls(applied), meta);
}
