// @ts-check
// Discovery and OpenAPI documents.
//
// kubectl asks /api and /apis for aggregated discovery (apidiscovery.k8s.io/v2)
// and gets every group, version and resource in two requests; older clients (or
// an Accept without it) get the legacy APIVersions/APIGroupList, then fetch
// /api/v1 and /apis/{group}/{version}. The OpenAPI v3 documents are stubs whose
// PATCH operations declare the fieldValidation query parameter, so kubectl leaves
// validation to the server (and falls back to its built-in types for strategic
// merge patches); /openapi/v2 is a document without definitions, which lets
// kubectl's client-side validation of `kind: List` input pass to the server.
import { createHash } from 'node:crypto';

/** @typedef {import('../kinds/builtin.mjs').ResourceInfo} ResourceInfo */
/** @typedef {import('../kinds/registry.mjs').Registry} Registry */

/** @param {ResourceInfo} r @param {string} version */
function legacyResources(r, version) {
  /** @type {Record<string, any>[]} */
  const out = [];
  /** @type {Record<string, any>} */
  const main = { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs };
  if (r.shortNames.length) main.shortNames = r.shortNames;
  if (r.categories.length) main.categories = r.categories;
  main.storageVersionHash = createHash('sha256').update(`${r.group}/${version}/${r.kind}`).digest('base64').slice(0, 11);
  out.push(main);
  for (const [sub, s] of Object.entries(r.subresources)) {
    /** @type {Record<string, any>} */
    const e = { name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs };
    if (s.group !== r.group) { e.group = s.group; e.version = s.version; }
    out.push(e);
  }
  return out;
}

/**
 * APIResourceList of /api/v1 or /apis/{group}/{version}.
 * @param {Registry} reg @param {string} group @param {string} version
 */
export function resourceList(reg, group, version) {
  const resources = reg.all().filter((r) => r.group === group && r.versions.includes(version));
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: resources.flatMap((r) => legacyResources(r, version)),
  };
}

/** @param {number} port */
export function apiVersions(port) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }],
  };
}

/** @param {{ name: string, versions: string[] }} g */
function apiGroup(g) {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

/** @param {Registry} reg */
export function apiGroupList(reg) {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: reg.groups().map(apiGroup) };
}

/** @param {Registry} reg @param {string} name */
export function apiGroupDoc(reg, name) {
  const g = reg.groups().find((x) => x.name === name);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) } : undefined;
}

/** @param {ResourceInfo} r */
function aggregatedResource(r) {
  /** @type {Record<string, any>} */
  const e = {
    resource: r.plural,
    responseKind: { group: r.group, version: r.storageVersion, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
  };
  if (r.shortNames.length) e.shortNames = r.shortNames;
  if (r.categories.length) e.categories = r.categories;
  const subs = Object.entries(r.subresources);
  if (subs.length) {
    e.subresources = subs.map(([sub, s]) => ({
      subresource: sub,
      responseKind: { group: s.group, version: s.version, kind: s.kind },
      verbs: s.verbs,
    }));
  }
  return e;
}

/**
 * Aggregated discovery (APIGroupDiscoveryList) of /api (legacy) or /apis.
 * @param {Registry} reg @param {boolean} legacy @param {'v2'|'v2beta1'} apiVersion
 */
export function aggregatedDiscovery(reg, legacy, apiVersion) {
  /** @param {string} group @param {string[]} versions */
  const item = (group, versions) => ({
    metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
    versions: versions.map((v) => ({
      version: v,
      resources: reg.all().filter((r) => r.group === group && r.versions.includes(v))
        .map((r) => ({ ...aggregatedResource(r), responseKind: { group: r.group, version: v, kind: r.kind } })),
      freshness: 'Current',
    })),
  });
  const items = legacy ? [item('', ['v1'])] : reg.groups().map((g) => item(g.name, g.versions));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${apiVersion}`, metadata: {}, items };
}

/**
 * Which aggregated discovery version an Accept header asks for, if any.
 * @param {string} accept
 * @returns {'v2'|'v2beta1'|undefined}
 */
export function wantsAggregated(accept) {
  for (const part of accept.split(',')) {
    const p = part.replace(/\s+/g, '');
    if (!p.includes('as=APIGroupDiscoveryList') || !p.includes('g=apidiscovery.k8s.io')) continue;
    if (p.includes('v=v2beta1')) return 'v2beta1';
    if (p.includes('v=v2')) return 'v2';
  }
  return undefined;
}

/** @param {string} group @param {string} version */
function gvPath(group, version) {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/**
 * The /openapi/v3 index: one entry per served group-version.
 * @param {Registry} reg
 */
export function openapiIndex(reg) {
  /** @type {Record<string, { serverRelativeURL: string }>} */
  const paths = {};
  /** @param {string} p */
  const add = (p) => {
    const hash = createHash('sha512').update(p + JSON.stringify(openapiDoc(reg, p) ?? {})).digest('hex').slice(0, 128).toUpperCase();
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  };
  add('api/v1');
  for (const g of reg.groups()) for (const v of g.versions) add(gvPath(g.name, v));
  return { paths };
}

const FIELD_VALIDATION = {
  name: 'fieldValidation',
  in: 'query',
  description: 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict',
  schema: { type: 'string', uniqueItems: true },
};
const COMMON_QUERY = ['dryRun', 'fieldManager'].map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }));

/**
 * A stub OpenAPI v3 document of one group-version ("api/v1", "apis/apps/v1").
 * @param {Registry} reg @param {string} gvp
 */
export function openapiDoc(reg, gvp) {
  const m = /^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(gvp);
  if (!m) return undefined;
  const group = m[2] ?? '';
  const version = m[1] ?? m[3];
  const resources = reg.all().filter((r) => r.group === group && r.versions.includes(version));
  if (!resources.length) return undefined;
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  /** @type {Record<string, any>} */
  const paths = {};
  for (const r of resources) {
    const gvk = { group, version, kind: r.kind };
    const prefix = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
    const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
    const body = (/** @type {string[]} */ types) => ({ content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'object' } }])) });
    paths[prefix] = {
      post: {
        operationId: `create${r.kind}`, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk,
        parameters: [FIELD_VALIDATION, ...COMMON_QUERY], requestBody: body(['*/*']),
      },
    };
    paths[`${prefix}/{name}`] = {
      put: {
        operationId: `replace${r.kind}`, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk,
        parameters: [FIELD_VALIDATION, ...COMMON_QUERY], requestBody: body(['*/*']),
      },
      patch: {
        operationId: `patch${r.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk,
        parameters: [FIELD_VALIDATION, ...COMMON_QUERY, { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } }],
        requestBody: body(patchTypes),
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths,
    components: { schemas: {} },
  };
}

/**
 * A minimal OpenAPI v2 document: no definitions, so kubectl's client-side
 * validation (used for `kind: List` input, which it cannot hand to the server's
 * fieldValidation) finds no schema and lets the server validate each item.
 * kubectl asks for the protobuf form (openapi_v2.Document); JSON otherwise.
 * @param {string} accept @param {string} version
 * @returns {{ contentType: string, body: Buffer }}
 */
export function openapiV2(accept, version) {
  if (accept.includes('protobuf')) {
    /** @param {number} field @param {Buffer} bytes */
    const lenField = (field, bytes) => Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
    const info = Buffer.concat([lenField(1, Buffer.from('Kubernetes')), lenField(2, Buffer.from(version))]);
    return {
      contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
      body: Buffer.concat([lenField(1, Buffer.from('2.0')), lenField(2, info)]),
    };
  }
  return {
    contentType: 'application/json',
    body: Buffer.from(JSON.stringify({ swagger: '2.0', info: { title: 'Kubernetes', version }, paths: {}, definitions: {} })),
  };
}
