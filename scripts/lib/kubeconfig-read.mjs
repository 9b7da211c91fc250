// @ts-check
// Reads a kubeconfig the way kubectl does, without running kubectl: KUBECONFIG may
// be a ':'-separated list; files that do not exist are skipped; for clusters, users
// and contexts of the same name the FIRST file wins, and so does the first
// current-context. A context is then resolved to its cluster's server URL in the
// merged view. (That is why two K3s kubeconfigs whose clusters are both called
// "default" resolve to the first cluster's server even after renaming the contexts.)
//
// Only names and server URLs are kept: credentials are never read out.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

/**
 * One context as kubectl would resolve it.
 * @typedef {object} KubeContext
 * @property {string} name
 * @property {string} cluster  the cluster entry the context names
 * @property {string} user     the user entry the context names
 * @property {string | null} server  the server URL of that cluster, or null when the cluster is not defined
 * @property {string} file     the file the context came from
 */

/**
 * A merged kubeconfig.
 * @typedef {object} Kubeconfig
 * @property {string[]} files    the files that were read, in order
 * @property {string[]} missing  the listed files that do not exist (skipped, as kubectl does)
 * @property {Map<string, KubeContext>} contexts
 * @property {Map<string, { server: string, file: string }>} clusters
 * @property {string | null} currentContext
 */

export class KubeconfigError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/**
 * Expands a leading "~" or "~/" to the home folder.
 * @param {string} p
 * @param {string} [home]
 */
export function expandHome(p, home = os.homedir()) {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/**
 * Splits a KUBECONFIG value into absolute paths: '~' expanded, relative paths
 * taken from cwd, empty entries and repeats dropped (as kubectl does).
 * @param {string} value
 * @param {{ home?: string, cwd?: string }} [options]
 * @returns {string[]}
 */
export function resolveKubeconfigPaths(value, options = {}) {
  const home = options.home ?? os.homedir();
  const cwd = options.cwd ?? process.cwd();
  /** @type {string[]} */
  const out = [];
  for (const entry of value.split(':')) {
    if (entry.trim() === '') continue;
    const abs = path.resolve(cwd, expandHome(entry, home));
    if (!out.includes(abs)) out.push(abs);
  }
  return out;
}

/**
 * @param {unknown} v
 * @returns {v is Record<string, unknown>}
 */
function isMap(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The named entries of one list (clusters, contexts, users) of one file.
 * @param {Record<string, unknown>} doc
 * @param {'clusters' | 'contexts' | 'users'} key
 * @param {'cluster' | 'context' | 'user'} inner
 * @param {string} file
 * @returns {Array<{ name: string, body: Record<string, unknown> }>}
 */
function namedEntries(doc, key, inner, file) {
  const list = doc[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new KubeconfigError(`${file}: "${key}" is not a list, so this is not a kubeconfig`);
  return list.map((entry, i) => {
    if (!isMap(entry) || typeof entry.name !== 'string' || entry.name === '') {
      throw new KubeconfigError(`${file}: ${key}[${i}] has no name, so this is not a valid kubeconfig`);
    }
    const body = entry[inner];
    if (body !== undefined && body !== null && !isMap(body)) {
      throw new KubeconfigError(`${file}: ${key}[${i}] (${entry.name}) has a "${inner}" that is not a mapping`);
    }
    return { name: entry.name, body: isMap(body) ? body : {} };
  });
}

/**
 * Parses the text of one kubeconfig file.
 * @param {string} text
 * @param {string} file  for messages and KubeContext.file
 * @returns {{ clusters: Map<string, { server: string, file: string }>, contexts: Map<string, { cluster: string, user: string, file: string }>, currentContext: string | null }}
 * @throws {KubeconfigError} when the text is not YAML or not a kubeconfig
 */
export function parseKubeconfig(text, file) {
  if (text.trim() === '') throw new KubeconfigError(`${file} is empty, not a kubeconfig`);
  /** @type {unknown} */
  let doc;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0].replace(/:\s*$/, '');
    throw new KubeconfigError(`${file} is not valid YAML: ${first}`);
  }
  if (!isMap(doc)) throw new KubeconfigError(`${file} is not a kubeconfig: its top level is not a mapping`);
  if (doc.kind !== undefined && doc.kind !== 'Config') {
    throw new KubeconfigError(`${file} is not a kubeconfig: it is kind ${JSON.stringify(doc.kind)}, a kubeconfig is kind Config`);
  }
  if (doc.kind === undefined && !('clusters' in doc) && !('contexts' in doc)) {
    throw new KubeconfigError(`${file} is not a kubeconfig: it has neither clusters nor contexts`);
  }
  /** @type {Map<string, { server: string, file: string }>} */
  const clusters = new Map();
  // Within one file a repeated name replaces the earlier entry (as client-go's
  // conversion does); across files the first file wins (see readKubeconfig).
  for (const { name, body } of namedEntries(doc, 'clusters', 'cluster', file)) {
    clusters.set(name, { server: typeof body.server === 'string' ? body.server : '', file });
  }
  /** @type {Map<string, { cluster: string, user: string, file: string }>} */
  const contexts = new Map();
  for (const { name, body } of namedEntries(doc, 'contexts', 'context', file)) {
    contexts.set(name, {
      cluster: typeof body.cluster === 'string' ? body.cluster : '',
      user: typeof body.user === 'string' ? body.user : '',
      file,
    });
  }
  const cc = doc['current-context'];
  return { clusters, contexts, currentContext: typeof cc === 'string' && cc !== '' ? cc : null };
}

/**
 * Reads and merges the kubeconfig file(s) named by a KUBECONFIG value.
 * @param {string} value  one path or a ':'-separated list; '~' is expanded
 * @param {{ home?: string, cwd?: string }} [options]
 * @returns {Kubeconfig}
 * @throws {KubeconfigError} when no listed file exists, or a file cannot be read or is not a kubeconfig
 */
export function readKubeconfig(value, options = {}) {
  const paths = resolveKubeconfigPaths(value, options);
  if (paths.length === 0) throw new KubeconfigError('no kubeconfig path given');
  /** @type {string[]} */
  const files = [];
  /** @type {string[]} */
  const missing = [];
  /** @type {Map<string, { server: string, file: string }>} */
  const clusters = new Map();
  /** @type {Map<string, { cluster: string, user: string, file: string }>} */
  const rawContexts = new Map();
  /** @type {string | null} */
  let currentContext = null;
  for (const file of paths) {
    /** @type {string} */
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = /** @type {NodeJS.ErrnoException} */ (err).code;
      if (code === 'ENOENT') {
        missing.push(file);
        continue;
      }
      if (code === 'EISDIR') throw new KubeconfigError(`${file} is a folder, not a kubeconfig file`);
      throw new KubeconfigError(`${file} cannot be read: ${code ?? String(err)}`);
    }
    const one = parseKubeconfig(text, file);
    files.push(file);
    for (const [name, c] of one.clusters) if (!clusters.has(name)) clusters.set(name, c);
    for (const [name, c] of one.contexts) if (!rawContexts.has(name)) rawContexts.set(name, c);
    if (currentContext === null) currentContext = one.currentContext;
  }
  if (files.length === 0) {
    throw new KubeconfigError(
      paths.length === 1 ? `${paths[0]} does not exist` : `none of the listed files exists (${paths.join(', ')})`,
    );
  }
  /** @type {Map<string, KubeContext>} */
  const contexts = new Map();
  for (const [name, c] of rawContexts) {
    const cluster = clusters.get(c.cluster);
    contexts.set(name, { name, cluster: c.cluster, user: c.user, server: cluster ? cluster.server : null, file: c.file });
  }
  return { files, missing, contexts, clusters, currentContext };
}

/**
 * Like readKubeconfig, but hands back the error text instead of throwing:
 * the shape config.mjs's buildConfig takes.
 * @param {string} value
 * @param {{ home?: string, cwd?: string }} [options]
 * @returns {Kubeconfig | { error: string }}
 */
export function tryReadKubeconfig(value, options = {}) {
  try {
    return readKubeconfig(value, options);
  } catch (err) {
    if (err instanceof KubeconfigError) return { error: err.message };
    throw err;
  }
}

/**
 * Host and port of an API server URL, the way a client would connect: the port
 * from the URL, else 443 for https (80 for http). IPv6 hosts come without brackets.
 * @param {string} server
 * @returns {{ host: string, port: number } | null} null when the URL does not parse or is not http(s)
 */
export function serverHostPort(server) {
  /** @type {URL} */
  let url;
  try {
    url = new URL(server);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.hostname === '') return null;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { host, port };
}
