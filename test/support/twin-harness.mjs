// @ts-check
// Test helpers around the cluster twin: start one in its own temp folder, run
// the real kubectl against it, change state behind the API server (as a
// controller would), wait for things, stop it.
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTwin } from '../../twin/twin.mjs';
import { kubectl } from './kubectl.mjs';
import { waitFor as waitUntil } from './time.mjs';

/** @typedef {import('../../twin/server/types.js').RunningTwin} RunningTwin */
/** @typedef {import('../../twin/server/types.js').RunningTwinCluster} RunningTwinCluster */
/** @typedef {import('../../twin/server/types.js').TwinStartOptions} TwinStartOptions */
/** @typedef {import('./kubectl.mjs').KubectlResult} KubectlResult */
/** @typedef {import('../../twin/store/types.js').KubeObject} KubeObject */

/**
 * @typedef {object} TestTwin
 * @property {RunningTwin} twin
 * @property {RunningTwinCluster} a
 * @property {RunningTwinCluster} b
 * @property {string} cacheDir kubectl's discovery cache of this twin
 * @property {(args: string[], o?: { context?: string, input?: string, timeoutMs?: number, env?: NodeJS.ProcessEnv }) => Promise<KubectlResult>} kubectl
 *   kubectl against the merged kubeconfig (context cluster-a unless given)
 * @property {() => Promise<void>} stop
 */

/**
 * Starts a twin for a test: API servers only unless asked (no controllers, no
 * data plane, so the test decides what status objects have), folder removed on stop.
 * @param {TwinStartOptions} [options]
 * @returns {Promise<TestTwin>}
 */
export async function startTestTwin(options = {}) {
  const twin = await startTwin({ controllers: false, dataplane: false, cleanup: true, ...options });
  const cacheDir = join(twin.dir, `kube-cache-${randomBytes(3).toString('hex')}`);
  return {
    twin,
    a: twin.clusters.a,
    b: twin.clusters.b,
    cacheDir,
    kubectl: (args, o = {}) => kubectl(args, { kubeconfig: twin.kubeconfig, cacheDir, ...o }),
    stop: () => twin.stop(),
  };
}

/**
 * Starts a twin that stops when the ava test ends.
 * @param {{ teardown(fn: () => unknown): void }} t
 * @param {TwinStartOptions} [options]
 */
export async function twinForTest(t, options) {
  const h = await startTestTwin(options);
  t.teardown(() => h.stop());
  return h;
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs fn after ms (errors are kept for the test to see via the promise).
 * @template T
 * @param {number} ms @param {() => T} fn
 * @returns {Promise<T>}
 */
export const later = (ms, fn) => sleep(ms).then(fn);

/**
 * Polls until fn returns a truthy value (timeoutMs: on an unloaded machine, scaled by the time factor).
 * @template T
 * @param {() => T | Promise<T>} fn
 * @param {{ timeoutMs?: number, everyMs?: number, what?: string }} [o]
 * @returns {Promise<NonNullable<Awaited<T>>>}
 */
export const waitFor = (fn, o = {}) => waitUntil(fn, o.what ?? 'a condition', o.timeoutMs ?? 10_000, o.everyMs ?? 20);

/**
 * Sets a Deployment's status as its controller would once all replicas are ready.
 * @param {RunningTwinCluster} c @param {string} ns @param {string} name
 */
export function markDeploymentReady(c, ns, name) {
  const d = c.store.get('apps/deployments', ns, name);
  if (!d) throw new Error(`deployment ${ns}/${name} not found`);
  const replicas = d.spec?.replicas ?? 1;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  d.status = {
    observedGeneration: d.metadata.generation,
    replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas,
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: now, lastTransitionTime: now },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}-abc" has successfully progressed.`, lastUpdateTime: now, lastTransitionTime: now },
    ],
  };
  return c.store.update('apps/deployments', d);
}

/**
 * Marks a CRD Established as the apiextensions server does.
 * @param {RunningTwinCluster} c @param {string} name
 */
export function establishCrd(c, name) {
  const crd = c.store.get('apiextensions.k8s.io/customresourcedefinitions', '', name);
  if (!crd) throw new Error(`crd ${name} not found`);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  crd.status = {
    acceptedNames: crd.spec.names,
    storedVersions: [crd.spec.versions.find((/** @type {any} */ v) => v.storage)?.name],
    conditions: [
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
    ],
  };
  return c.store.update('apiextensions.k8s.io/customresourcedefinitions', crd);
}

/**
 * A small CRD in the shape of Cilium's CiliumLoadBalancerIPPool (served as v2
 * and v2alpha1, cluster-scoped, structural schema), not Established yet.
 * @returns {KubeObject}
 */
export function poolCrd() {
  const schema = {
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        properties: {
          allowFirstLastIPs: { type: 'string', enum: ['Yes', 'No'], default: 'No' },
          blocks: {
            type: 'array',
            items: { type: 'object', properties: { cidr: { type: 'string' }, start: { type: 'string' }, stop: { type: 'string' } } },
          },
          disabled: { type: 'boolean', default: false },
          serviceSelector: {
            type: 'object',
            properties: {
              matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
              matchExpressions: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          },
        },
      },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  };
  const version = (/** @type {string} */ name, /** @type {boolean} */ storage) => ({
    name, served: true, storage,
    schema: { openAPIV3Schema: schema },
    subresources: { status: {} },
    additionalPrinterColumns: [
      { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled' },
      { name: 'Conflicting', type: 'string', jsonPath: '.status.conditions[?(@.type=="cilium.io/PoolConflict")].status' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'ciliumloadbalancerippools.cilium.io' },
    spec: {
      group: 'cilium.io',
      names: { kind: 'CiliumLoadBalancerIPPool', listKind: 'CiliumLoadBalancerIPPoolList', plural: 'ciliumloadbalancerippools', singular: 'ciliumloadbalancerippool', shortNames: ['ippools', 'ippool', 'lbippool', 'lbippools'], categories: ['cilium'] },
      scope: 'Cluster',
      versions: [version('v2', true), version('v2alpha1', false)],
      conversion: { strategy: 'None' },
    },
  };
}

/**
 * @typedef {object} ApiResponse
 * @property {number} status
 * @property {import('node:http').IncomingHttpHeaders} headers
 * @property {string} text
 * @property {any} json parsed body (undefined when not JSON)
 */

/**
 * TLS options of a client of this cluster's API server.
 * @param {RunningTwinCluster} c @param {boolean} withCert
 */
async function tlsOptions(c, withCert) {
  const { readFile } = await import('node:fs/promises');
  const ca = await readFile(join(c.dir, 'ca.crt'));
  if (!withCert) return { ca };
  return { ca, cert: await readFile(join(c.dir, 'client-admin.crt')), key: await readFile(join(c.dir, 'client-admin.key')) };
}

/** @type {Map<string, import('node:https').Agent>} keep-alive agents per cluster and credentials */
const agents = new Map();

/**
 * One raw request to a cluster's API server (as client-go would send it).
 * @param {RunningTwinCluster} c
 * @param {string} method
 * @param {string} path with query
 * @param {{ body?: unknown, contentType?: string, accept?: string, cert?: boolean }} [o]
 * @returns {Promise<ApiResponse>}
 */
export async function apiRequest(c, method, path, o = {}) {
  const https = await import('node:https');
  const tls = await tlsOptions(c, o.cert !== false);
  const key = `${c.dir}|${o.cert !== false}`;
  let agent = agents.get(key);
  if (!agent) agents.set(key, (agent = new https.Agent({ keepAlive: true, maxSockets: 16 })));
  const data = o.body === undefined ? undefined : typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: c.server.port, method, path, ...tls, agent,
      headers: {
        Accept: o.accept ?? 'application/json',
        ...(data !== undefined ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/**
 * @typedef {object} WatchStream
 * @property {number} status
 * @property {() => Promise<{ type: string, object: any } | undefined>} next next event (undefined: the stream ended)
 * @property {(ms: number) => Promise<Array<{ type: string, object: any }>>} collect events arriving within ms
 * @property {Promise<void>} ended resolves when the server ends the stream
 * @property {() => void} close
 */

/**
 * Opens a watch (path must carry watch=true) and reads its JSON lines.
 * @param {RunningTwinCluster} c @param {string} path
 * @returns {Promise<WatchStream>}
 */
export async function openWatch(c, path) {
  const https = await import('node:https');
  const tls = await tlsOptions(c, true);
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: c.server.port, method: 'GET', path, ...tls, agent: false, headers: { Accept: 'application/json' } }, (res) => {
      /** @type {Array<{ type: string, object: any }>} */
      const queue = [];
      /** @type {Array<(e: { type: string, object: any } | undefined) => void>} */
      const waiting = [];
      let done = false;
      let buf = '';
      /** @type {() => void} */
      let endedResolve = () => {};
      const ended = new Promise((r) => { endedResolve = () => r(undefined); });
      const push = (/** @type {{ type: string, object: any } | undefined} */ e) => {
        const w = waiting.shift();
        if (w) w(e);
        else if (e) queue.push(e);
      };
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) push(JSON.parse(line));
        }
      });
      const finish = () => {
        done = true;
        endedResolve();
        while (waiting.length) /** @type {(e: undefined) => void} */ (waiting.shift())(undefined);
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      resolve({
        status: res.statusCode ?? 0,
        next: () => {
          const e = queue.shift();
          if (e) return Promise.resolve(e);
          if (done) return Promise.resolve(undefined);
          return new Promise((r) => waiting.push(r));
        },
        collect: async (ms) => {
          await sleep(ms);
          return queue.splice(0);
        },
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
