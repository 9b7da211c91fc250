// @ts-check
// The REST verbs on resources: get, list, watch, create, update, patch, delete,
// deletecollection, and the status and scale subresources. What happens to an
// object on the way in follows the real registry: strict field decoding, the
// kind's defaults, status reset on create and kept on update of the main
// resource (kinds with a status subresource), allocation of Service addresses,
// validation, then the store (which keeps resourceVersion, uid, generation).
import { randomBytes, randomUUID } from 'node:crypto';
import { StoreError } from '../store/store.mjs';
import { apiVersionOf, CRD_KEY } from '../kinds/builtin.mjs';
import { applyDefaults, applySchemaDefaults } from '../kinds/defaults.mjs';
import { validateBuiltin, validateCr } from '../kinds/validate.mjs';
import { BUILTIN_SCHEMAS, unknownBuiltinFields, unknownCrFields, crdVersionSchema } from '../kinds/schemas.mjs';
import { patchMetaFor, patchMetaFromSchema } from '../kinds/patch-meta.mjs';
import { allocateService } from '../kinds/service-alloc.mjs';
import { decodingError, annotationsTooLong } from '../kinds/decoding.mjs';
import { toTable, jsonPathValues } from '../kinds/printers.mjs';
import { isEstablished } from '../kinds/registry.mjs';
import { serviceAccountRefusal } from '../kinds/admission.mjs';
import {
  ApiError, notFound, alreadyExists, conflict, badRequest, pageNotFound, methodNotAllowed, invalid, qualified,
} from '../kinds/errors.mjs';
import { mergePatch, jsonPatch, strategicMerge, applyMerge, isObj } from './patch.mjs';
import { matcherFromQuery } from './selectors.mjs';
import { serveWatch } from './watch.mjs';
import { propagationOf, orphanDependents, warningHeader } from './propagation.mjs';
import { contentType, deleteOptions, parseBody, sendJson } from './http.mjs';
import { setTemplateGeneration } from '../kinds/daemonset.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../kinds/builtin.mjs').ResourceInfo} ResourceInfo */
/** @typedef {import('node:http').IncomingMessage} Req */
/** @typedef {import('node:http').ServerResponse} Res */

/**
 * @typedef {object} Ctx
 * @property {import('../store/store.mjs').Store} store
 * @property {import('../kinds/registry.mjs').Registry} registry
 * @property {import('./events.mjs').EventHub} hub
 * @property {string} serviceCidr
 * @property {number} crdEstablishMs
 * @property {number} namespaceDeleteMs how long a deleted namespace stays Terminating
 * @property {number} bookmarkMs
 * @property {Set<() => void>} openWatches
 * @property {Set<NodeJS.Timeout>} timers
 */

/**
 * @typedef {object} Route
 * @property {string} group
 * @property {string} version
 * @property {string} [namespace] from /namespaces/{ns}/...
 * @property {string} plural
 * @property {string} [name]
 * @property {string} [sub]
 */

const JSON_TYPES = ['application/json', 'application/yaml', 'application/x-yaml', 'text/yaml'];
const PATCH_JSON = 'application/json-patch+json';
const PATCH_MERGE = 'application/merge-patch+json';
const PATCH_SMP = 'application/strategic-merge-patch+json';
const PATCH_APPLY = 'application/apply-patch+yaml';

/** Kinds whose create keeps the status the client sent (everything else with a status subresource starts empty). */
const KEEP_STATUS_ON_CREATE = new Set(['/Node', '/Namespace']);

/** @param {number} ms */
const nowIso = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * Kinds whose registry strategy keeps metadata.generation (the store counts it
 * for every object; a real ConfigMap, Service or Secret has none).
 */
const GENERATION_KINDS = new Set(['apps/Deployment', 'apps/ReplicaSet', 'apps/DaemonSet', 'apps/StatefulSet', 'batch/Job', 'batch/CronJob',
  'apiextensions.k8s.io/CustomResourceDefinition', 'networking.k8s.io/NetworkPolicy', 'policy/PodDisruptionBudget']);

/**
 * An object as the API answers it: apiVersion of the requested version, kind first.
 * @param {ResourceInfo} info @param {string} version @param {KubeObject} o @returns {KubeObject}
 */
export function present(info, version, o) {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  if (!info.crd && rest.metadata?.generation !== undefined && !GENERATION_KINDS.has(`${info.group}/${info.kind}`)) {
    const { generation: _g, ...metadata } = rest.metadata;
    rest.metadata = metadata;
  }
  return /** @type {KubeObject} */ ({ apiVersion: apiVersionOf(info, version), kind: info.kind, ...rest });
}

/** @param {ResourceInfo} info @param {unknown} e @param {string} name @returns {never} */
function rethrow(info, e, name) {
  if (e instanceof StoreError) {
    if (e.reason === 'AlreadyExists') throw alreadyExists(info, name);
    if (e.reason === 'NotFound') throw notFound(info, name);
    if (e.reason === 'Conflict') throw conflict(info, name);
  }
  throw e;
}

/** @param {string} accept */
const wantsTable = (accept) => /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);

/**
 * The schema a kind's fields are checked against, or undefined (no check).
 * @param {ResourceInfo} info @param {string} version
 */
function fieldsCheck(info, version) {
  if (info.crd) {
    const schema = crdVersionSchema(info.crd, version);
    return schema ? (/** @type {unknown} */ v) => unknownCrFields(schema, v, { prune: true }) : undefined;
  }
  const shape = BUILTIN_SCHEMAS[`${info.group}/${info.kind}`];
  return shape ? (/** @type {unknown} */ v) => unknownBuiltinFields(shape, v, { prune: true }) : undefined;
}

/** @param {ResourceInfo} info @param {string} version */
function metaFn(info, version) {
  if (info.crd) return patchMetaFromSchema(crdVersionSchema(info.crd, version));
  return /** @type {import('./patch.mjs').MetaFn} */ (patchMetaFor(info.group, info.kind));
}

/** @param {URLSearchParams} q @param {any} [body] DeleteOptions */
function isDryRun(q, body) {
  return q.getAll('dryRun').includes('All') || (Array.isArray(body?.dryRun) && body.dryRun.includes('All'));
}

/**
 * Request-wide state of one write.
 * @typedef {object} Write
 * @property {Ctx} ctx
 * @property {ResourceInfo} info
 * @property {string} version
 * @property {Route} route
 * @property {URLSearchParams} q
 * @property {string[]} warnings
 */

/**
 * Turns a client's object into the object to store (create: old undefined).
 * @param {Write} w @param {any} input @param {KubeObject} [old]
 * @returns {KubeObject}
 */
function prepare(w, input, old) {
  const { info, version, route, q } = w;
  if (!isObj(input)) throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(input)}'`);
  /** @type {any} */
  const obj = structuredClone(input);
  const gv = apiVersionOf(info, version);
  if (obj.apiVersion !== undefined && obj.apiVersion !== gv && !(info.crd && String(obj.apiVersion).startsWith(`${info.group}/`))) {
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${gv})`);
  }
  if (obj.kind !== undefined && obj.kind !== info.kind) {
    throw badRequest(`${obj.kind} in version "${version}" cannot be handled as a ${info.kind}: the kind in the data does not match the expected kind`);
  }
  // Strict field decoding: unknown fields fail with Strict, are dropped (with a warning under Warn) otherwise.
  const check = fieldsCheck(info, version);
  const unknown = check ? check(obj) : [];
  if (unknown.length) {
    const list = unknown.map((f) => `unknown field "${f}"`);
    const mode = q.get('fieldValidation') ?? 'Warn';
    if (mode === 'Strict') throw badRequest(`${info.kind} in version "${version}" cannot be handled as a ${info.kind}: strict decoding error: ${list.join(', ')}`);
    if (mode !== 'Ignore') w.warnings.push(...list);
  }
  const decoding = decodingError(info.group, info.kind, obj);
  if (decoding) throw badRequest(`${info.kind} in version "${version}" cannot be handled as a ${info.kind}: ${decoding}`);
  obj.apiVersion = apiVersionOf(info, info.storageVersion);
  obj.kind = info.kind;
  if (!isObj(obj.metadata)) obj.metadata = {};
  const md = obj.metadata;
  if (info.namespaced) {
    if (md.namespace && route.namespace && md.namespace !== route.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    md.namespace = route.namespace ?? md.namespace;
  } else {
    delete md.namespace;
  }
  delete md.managedFields;
  delete md.selfLink;
  if (!old) {
    if (!md.name && md.generateName) {
      const chars = 'bcdfghjklmnpqrstvwxz2456789';
      md.name = md.generateName + [...randomBytes(5)].map((b) => chars[b % chars.length]).join('');
    }
    for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation']) delete md[k];
  } else {
    md.uid = old.metadata.uid;
    md.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) md.deletionTimestamp = old.metadata.deletionTimestamp;
    else delete md.deletionTimestamp;
  }
  const gk = `${info.group}/${info.kind}`;
  if (info.subresources.status) {
    if (old) {
      if (old.status === undefined) delete obj.status;
      else obj.status = structuredClone(old.status);
    } else if (!KEEP_STATUS_ON_CREATE.has(gk)) {
      delete obj.status;
      if (gk === '/Pod') obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    }
  }
  if (info.crd) {
    applySchemaDefaults(crdVersionSchema(info.crd, version), obj);
  } else {
    applyDefaults(info.group, info.kind, obj);
  }
  if (gk === 'apps/DaemonSet') setTemplateGeneration(obj, old);
  if (gk === '/Service') {
    allocateService(w.ctx.store.list('/services'), w.ctx.serviceCidr, obj, old);
  }
  if (gk === 'apiextensions.k8s.io/CustomResourceDefinition' && !old) {
    const storage = (obj.spec?.versions ?? []).find((/** @type {any} */ v) => v.storage)?.name;
    obj.status = {
      conditions: [{ type: 'NamesAccepted', status: 'True', lastTransitionTime: nowIso(), reason: 'NoConflicts', message: 'no conflicts found' }],
      acceptedNames: obj.spec?.names ?? {},
      storedVersions: storage ? [storage] : [],
    };
  }
  const errs = info.crd
    ? validateCr(crdVersionSchema(info.crd, version), obj)
    : validateBuiltin(info.group, info.kind, info.namespaced, obj, old);
  const tooLong = annotationsTooLong(obj);
  if (tooLong) errs.push(tooLong);
  if (errs.length) throw invalid(info, md.name ?? '', errs);
  return obj;
}

/**
 * A namespaced create needs its namespace, and one that is not terminating.
 * @param {Ctx} ctx @param {ResourceInfo} info @param {string | undefined} ns @param {string} name
 */
function requireNamespace(ctx, info, ns, name) {
  if (!ns) return;
  const o = ctx.store.get('/namespaces', '', ns);
  if (!o) throw notFound({ group: '', plural: 'namespaces' }, ns);
  if (o.metadata.deletionTimestamp) {
    throw new ApiError(403, 'Forbidden', `${qualified(info)} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      { name, ...(info.group ? { group: info.group } : {}), kind: info.plural });
  }
}

/** @param {Write} w @returns {Record<string, string[]>} */
function warningHeaders(w) {
  return w.warnings.length ? { Warning: w.warnings.map((m) => `299 - ${JSON.stringify(m)}`) } : {};
}

/** Marks a CRD created through the API Established, as the apiextensions controllers do. @param {Ctx} ctx @param {string} name */
function establishLater(ctx, name) {
  const t = setTimeout(() => {
    ctx.timers.delete(t);
    const crd = ctx.store.get(CRD_KEY, '', name);
    if (!crd || isEstablished(crd)) return;
    const conditions = (crd.status?.conditions ?? []).filter((/** @type {any} */ c) => c.type !== 'Established');
    conditions.push({ type: 'Established', status: 'True', lastTransitionTime: nowIso(), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' });
    try {
      ctx.store.update(CRD_KEY, { ...crd, status: { ...crd.status, conditions } });
    } catch { /* deleted or changed meanwhile */ }
  }, ctx.crdEstablishMs);
  ctx.timers.add(t);
}

/**
 * Stores a new object (POST, or server-side apply of an absent object).
 * @param {Write} w @param {any} input @param {boolean} dryRun @param {Res} res
 */
function createObject(w, input, dryRun, res) {
  const { ctx, info, version } = w;
  const rv = input?.metadata?.resourceVersion;
  if (rv && rv !== '0' && Number(rv) !== 0) {
    throw new ApiError(500, '', 'resourceVersion should not be set on objects to be created');
  }
  const obj = prepare(w, input);
  if (info.namespaced) requireNamespace(ctx, info, obj.metadata.namespace, obj.metadata.name);
  if (info.key === '/pods') {
    // Admission names a pod by its generateName when the name is not generated yet.
    const refusal = serviceAccountRefusal(ctx.store, obj, input?.metadata?.name || input?.metadata?.generateName || obj.metadata.name);
    if (refusal) throw refusal;
  }
  delete obj.metadata.resourceVersion;
  if (dryRun) {
    if (ctx.store.get(info.key, obj.metadata.namespace ?? '', obj.metadata.name)) throw alreadyExists(info, obj.metadata.name);
    obj.metadata.uid ||= randomUUID();
    obj.metadata.creationTimestamp = nowIso();
    obj.metadata.generation = 1;
    return sendJson(res, 201, present(info, version, obj), warningHeaders(w));
  }
  let created;
  try {
    created = ctx.store.create(info.key, obj);
  } catch (e) {
    rethrow(info, e, obj.metadata.name);
  }
  if (info.key === CRD_KEY) establishLater(ctx, created.metadata.name);
  sendJson(res, 201, present(info, version, created), warningHeaders(w));
}

/**
 * Stores an updated object, or deletes it when its last finalizer went away
 * during deletion. Nothing changes (and no event is sent) when it is the same.
 * @param {Write} w @param {KubeObject} obj @param {KubeObject} old
 * @param {string | undefined} expectRv @param {boolean} dryRun
 * @returns {KubeObject}
 */
function storeUpdate(w, obj, old, expectRv, dryRun) {
  const { ctx, info } = w;
  if (expectRv && expectRv !== old.metadata.resourceVersion) throw conflict(info, old.metadata.name);
  if (dryRun) return { ...obj, metadata: { ...obj.metadata, resourceVersion: old.metadata.resourceVersion } };
  try {
    if (old.metadata.deletionTimestamp && !finalizersOf(obj).length) {
      ctx.store.update(info.key, obj, { expectRv: old.metadata.resourceVersion });
      return ctx.store.delete(info.key, old.metadata.namespace ?? '', old.metadata.name);
    }
    return ctx.store.update(info.key, obj, { expectRv: old.metadata.resourceVersion });
  } catch (e) {
    return rethrow(info, e, old.metadata.name);
  }
}

/** The Scale (autoscaling/v1) of an object. @param {ResourceInfo} info @param {KubeObject} o */
function scaleOf(info, o) {
  const sc = info.crd ? (info.crd.spec.versions ?? []).find((/** @type {any} */ v) => v.name === info.storageVersion)?.subresources?.scale ?? {} : {};
  const specPath = sc.specReplicasPath ?? '.spec.replicas';
  const statusPath = sc.statusReplicasPath ?? '.status.replicas';
  const replicas = jsonPathValues(o, specPath)[0];
  const current = jsonPathValues(o, statusPath)[0];
  /** @type {string} */
  let selector = '';
  if (info.crd) {
    const s = sc.labelSelectorPath ? jsonPathValues(o, sc.labelSelectorPath)[0] : undefined;
    selector = typeof s === 'string' ? s : '';
  } else {
    selector = Object.entries(o.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  }
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: typeof replicas === 'number' ? replicas : 0 },
    status: { replicas: typeof current === 'number' ? current : 0, ...(selector ? { selector } : {}) },
  };
}

/** @param {ResourceInfo} info @param {KubeObject} o @param {number} replicas */
function withReplicas(info, o, replicas) {
  const n = structuredClone(o);
  const sc = info.crd ? (info.crd.spec.versions ?? []).find((/** @type {any} */ v) => v.name === info.storageVersion)?.subresources?.scale ?? {} : {};
  const parts = String(sc.specReplicasPath ?? '.spec.replicas').replace(/^\./, '').split('.');
  /** @type {any} */
  let cur = n;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts[parts.length - 1]] = replicas;
  return n;
}

/**
 * Applies a patch body of the given type to an object.
 * @param {Write} w @param {string} type @param {any} body @param {any} cur
 */
function applyPatch(w, type, body, cur) {
  switch (type) {
    case PATCH_JSON: return jsonPatch(cur, body);
    case PATCH_MERGE: return mergePatch(cur, body);
    case PATCH_SMP: return strategicMerge(cur, body, metaFn(w.info, w.version));
    default: return applyMerge(cur, body, metaFn(w.info, w.version));
  }
}

/**
 * Deletes an object the way the registry does: namespaces take their objects
 * with them, CRDs their custom resources, objects with finalizers only get a
 * deletionTimestamp. With the Orphan policy its dependents lose their owner reference.
 * @param {Ctx} ctx @param {ResourceInfo} info @param {KubeObject} old
 * @param {'Orphan'|'Background'|'Foreground'} [policy]
 * @returns {KubeObject}
 */
function deleteObject(ctx, info, old, policy = 'Background') {
  const ns = old.metadata.namespace ?? '';
  const name = old.metadata.name;
  if (info.key === '/namespaces') {
    // The namespace turns Terminating at once; its content and then the
    // namespace itself go a moment later, as the namespace controller does it.
    if (old.metadata.deletionTimestamp) {
      throw conflict(info, name, 'The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.');
    }
    const terminating = ctx.store.update(info.key, {
      ...old, metadata: { ...old.metadata, deletionTimestamp: nowIso() }, status: { ...(old.status ?? {}), phase: 'Terminating' },
    });
    const t = setTimeout(() => {
      ctx.timers.delete(t);
      for (const resource of [...ctx.store.objects.keys()]) {
        if (resource === '/namespaces') continue;
        for (const o of ctx.store.list(resource, name)) {
          try { ctx.store.delete(resource, name, o.metadata.name); } catch { /* gone already */ }
        }
      }
      try { ctx.store.delete(info.key, '', name); } catch { /* gone already */ }
    }, ctx.namespaceDeleteMs);
    ctx.timers.add(t);
    return terminating;
  }
  if (info.key === CRD_KEY) {
    const group = old.spec?.group;
    const plural = old.spec?.names?.plural;
    if (group && plural) for (const o of ctx.store.list(`${group}/${plural}`)) {
      try { ctx.store.delete(`${group}/${plural}`, o.metadata.namespace ?? '', o.metadata.name); } catch { /* gone */ }
    }
  }
  if (policy === 'Orphan') orphanDependents(ctx.store, old);
  if (finalizersOf(old).length) {
    if (old.metadata.deletionTimestamp) return old;
    return ctx.store.update(info.key, { ...old, metadata: { ...old.metadata, deletionTimestamp: nowIso(), deletionGracePeriodSeconds: 0 } });
  }
  return ctx.store.delete(info.key, ns, name);
}

/** @param {KubeObject} o @returns {unknown[]} */
const finalizersOf = (o) => (Array.isArray(o.metadata.finalizers) ? o.metadata.finalizers : []);

/** @param {Req} req */
const accept = (req) => String(req.headers.accept ?? '');

/**
 * @param {Ctx} ctx @param {Route} route @param {Req} req @param {Res} res @param {URLSearchParams} q
 * @param {Buffer} raw the request body, already read
 */
export function handleResource(ctx, route, req, res, q, raw) {
  const info = ctx.registry.find(route.group, route.version, route.plural);
  if (!info) throw pageNotFound();
  if (route.namespace !== undefined && !info.namespaced) throw pageNotFound();
  if (route.sub && !info.subresources[route.sub]) throw pageNotFound();
  const version = route.version;
  const ns = info.namespaced ? route.namespace : undefined;
  /** @type {Write} */
  const w = { ctx, info, version, route, q, warnings: [] };
  const method = req.method ?? 'GET';
  const name = route.name;

  if (!name) {
    if (method === 'GET') {
      const matches = matcherFromQuery(q, info.key);
      const inScope = (/** @type {KubeObject} */ o) => ns === undefined || (o.metadata.namespace ?? '') === ns;
      const list = () => ctx.store.list(info.key, ns).filter(matches);
      if (q.get('watch') === 'true' || q.get('watch') === '1') {
        serveWatch({
          hub: ctx.hub, store: ctx.store, resource: info.key, kind: info.kind, apiVersion: apiVersionOf(info, version), q, req, res,
          matches: (o) => inScope(o) && matches(o), list,
          // kubectl get -w asks for Tables: every event then carries a one-row Table.
          present: wantsTable(accept(req))
            ? (o) => /** @type {any} */ (toTable(info, version, [o], { resourceVersion: o.metadata.resourceVersion ?? '', includeObject: q.get('includeObject'), apiVersion: apiVersionOf(info, version) }))
            : (o) => present(info, version, o),
          open: ctx.openWatches, bookmarkMs: ctx.bookmarkMs,
        });
        return;
      }
      const resourceVersion = String(ctx.store.rv);
      const items = list();
      if (wantsTable(accept(req))) {
        return sendJson(res, 200, toTable(info, version, items, { resourceVersion, includeObject: q.get('includeObject'), apiVersion: apiVersionOf(info, version) }));
      }
      if (/as=PartialObjectMetadataList/.test(accept(req))) {
        return sendJson(res, 200, {
          kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion },
          items: items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
        });
      }
      return sendJson(res, 200, {
        kind: info.listKind, apiVersion: apiVersionOf(info, version), metadata: { resourceVersion },
        items: items.map((o) => present(info, version, o)),
      });
    }
    if (method === 'POST') {
      if (info.namespaced && ns === undefined) throw pageNotFound();
      const body = parseBody(raw, contentType(req), JSON_TYPES);
      return createObject(w, body, isDryRun(q), res);
    }
    if (method === 'DELETE') {
      if (!info.verbs.includes('deletecollection')) throw methodNotAllowed('deletecollection', info);
      const opts = deleteOptions(raw, req);
      const matches = matcherFromQuery(q, info.key);
      const items = ctx.store.list(info.key, ns).filter(matches);
      const dry = isDryRun(q, opts);
      const { policy, warning } = propagationOf(info, q, opts);
      const deleted = dry ? items : items.map((o) => {
        try { return deleteObject(ctx, info, o, policy); } catch { return o; }
      });
      return sendJson(res, 200, {
        kind: info.listKind, apiVersion: apiVersionOf(info, version), metadata: { resourceVersion: String(ctx.store.rv) },
        items: deleted.map((o) => present(info, version, o)),
      }, warningHeader(warning));
    }
    throw methodNotAllowed(method.toLowerCase(), info);
  }

  const getOld = () => {
    const o = ctx.store.get(info.key, ns ?? '', name);
    if (!o) throw notFound(info, name);
    return o;
  };

  if (route.sub === 'scale') {
    if (method === 'GET') return sendJson(res, 200, scaleOf(info, getOld()));
    if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed(method.toLowerCase(), info, name);
    const type = contentType(req);
    const accepted = method === 'PUT' ? JSON_TYPES : [PATCH_JSON, PATCH_MERGE, PATCH_SMP, PATCH_APPLY];
    const body = parseBody(raw, type, accepted);
    const old = getOld();
    const cur = scaleOf(info, old);
    const next = method === 'PUT' ? body : applyPatch(w, type === PATCH_SMP ? PATCH_MERGE : type, body, cur);
    const replicas = next?.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ group: 'autoscaling', kind: 'Scale' }, name, [{ type: 'Invalid', field: 'spec.replicas', value: replicas ?? null, detail: 'must be greater than or equal to 0' }]);
    }
    const expect = method === 'PUT' ? body?.metadata?.resourceVersion : undefined;
    const updated = storeUpdate(w, withReplicas(info, old, replicas), old, expect, isDryRun(q));
    return sendJson(res, 200, scaleOf(info, updated));
  }

  if (route.sub === 'status' || route.sub === 'finalize') {
    if (method === 'GET') return sendJson(res, 200, present(info, version, getOld()));
    if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed(method.toLowerCase(), info, name);
    const type = contentType(req);
    const accepted = method === 'PUT' ? JSON_TYPES : info.crd ? [PATCH_JSON, PATCH_MERGE, PATCH_APPLY] : [PATCH_JSON, PATCH_MERGE, PATCH_SMP, PATCH_APPLY];
    const body = parseBody(raw, type, accepted);
    const old = getOld();
    const next = method === 'PUT' ? body : applyPatch(w, type, body, present(info, version, old));
    if (!isObj(next)) throw badRequest('the body of the request is not an object');
    if (method === 'PUT' && next.metadata?.name && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    }
    const obj = structuredClone(old);
    if (route.sub === 'finalize') obj.spec = { ...(obj.spec ?? {}), finalizers: next.spec?.finalizers ?? [] };
    else if (next.status === undefined) delete obj.status;
    else obj.status = next.status;
    const expect = method === 'PUT' ? next.metadata?.resourceVersion : undefined;
    const updated = storeUpdate(w, obj, old, expect, isDryRun(q));
    return sendJson(res, 200, present(info, version, updated));
  }

  switch (method) {
    case 'GET': {
      const o = getOld();
      if (wantsTable(accept(req))) {
        return sendJson(res, 200, toTable(info, version, [o], { resourceVersion: o.metadata.resourceVersion ?? '', includeObject: q.get('includeObject'), apiVersion: apiVersionOf(info, version) }));
      }
      if (/as=PartialObjectMetadata/.test(accept(req))) {
        return sendJson(res, 200, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata });
      }
      return sendJson(res, 200, present(info, version, o));
    }
    case 'PUT': {
      const body = parseBody(raw, contentType(req), JSON_TYPES);
      if (isObj(body) && isObj(body.metadata) && body.metadata.name && body.metadata.name !== name) {
        throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
      }
      const old = getOld();
      const obj = prepare(w, { ...body, metadata: { ...(body?.metadata ?? {}), name } }, old);
      const updated = storeUpdate(w, obj, old, body?.metadata?.resourceVersion, isDryRun(q));
      return sendJson(res, 200, present(info, version, updated), warningHeaders(w));
    }
    case 'PATCH': {
      const type = contentType(req);
      const accepted = info.crd ? [PATCH_JSON, PATCH_MERGE, PATCH_APPLY] : [PATCH_JSON, PATCH_MERGE, PATCH_SMP, PATCH_APPLY];
      const body = parseBody(raw, type, accepted);
      if (type === PATCH_APPLY && !q.get('fieldManager')) {
        throw badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      }
      const old = ctx.store.get(info.key, ns ?? '', name);
      if (!old) {
        if (type !== PATCH_APPLY) throw notFound(info, name);
        if (!isObj(body)) throw badRequest('invalid object');
        if (body.metadata?.name && body.metadata.name !== name) {
          throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
        }
        return createObject(w, { ...body, metadata: { ...(body.metadata ?? {}), name } }, isDryRun(q), res);
      }
      if (type === PATCH_APPLY && isObj(body)) {
        if (body.kind && body.kind !== info.kind) throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${info.kind})`);
      }
      const patched = applyPatch(w, type, body, present(info, version, old));
      if (!isObj(patched)) throw badRequest('the patched object is not an object');
      const patchRv = isObj(body) && isObj(body.metadata) ? body.metadata.resourceVersion : undefined;
      if (patched.metadata?.name !== name) throw badRequest(`the name of the object (${patched.metadata?.name}) does not match the name on the URL (${name})`);
      const obj = prepare(w, patched, old);
      const updated = storeUpdate(w, obj, old, typeof patchRv === 'string' ? patchRv : undefined, isDryRun(q));
      return sendJson(res, 200, present(info, version, updated), warningHeaders(w));
    }
    case 'DELETE': {
      const opts = deleteOptions(raw, req);
      const old = getOld();
      const pre = opts?.preconditions ?? {};
      if (pre.uid && pre.uid !== old.metadata.uid) {
        throw conflict(info, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
      }
      if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
        throw conflict(info, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
      }
      if (info.key === '/namespaces' && ['default', 'kube-system', 'kube-public'].includes(name)) {
        throw new ApiError(403, 'Forbidden', `${qualified(info)} "${name}" is forbidden: this namespace may not be deleted`, { name, kind: info.plural });
      }
      const { policy, warning } = propagationOf(info, q, opts);
      const headers = warningHeader(warning);
      if (isDryRun(q, opts)) return sendJson(res, 200, present(info, version, old), headers);
      const gone = deleteObject(ctx, info, old, policy);
      return sendJson(res, 200, present(info, version, gone), headers);
    }
    default:
      throw methodNotAllowed(method.toLowerCase(), info, name);
  }
}
