// @ts-check
// Kubeconfigs as they come off K3s servers (/etc/rancher/k3s/k3s.yaml), for
// step 00: checked when the config is loaded (a kubeconfig with exactly one
// context, not the file 00 writes to), renamed in memory (K3s calls context,
// cluster and user all "default"; kubectl can rename only the context), and
// compared with what a merged kubeconfig holds under the new names.
//
// Client keys pass through here in memory only: nothing in this module prints
// or writes them, and error messages name entries, never their data.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { expandHome, parseKubeconfig, KubeconfigError } from './kubeconfig-read.mjs';

/**
 * What config.mjs keeps of a K3s kubeconfig: names and server, no credentials.
 * @typedef {object} K3sFileInfo
 * @property {string} file     absolute path (symlinks resolved)
 * @property {string} context  its one context
 * @property {string} cluster  the cluster entry that context names
 * @property {string} user     the user entry that context names
 * @property {string} server   the cluster's server URL (K3s: https://127.0.0.1:6443)
 * @property {string | null} caData  certificate-authority-data (public), null when the CA is a file reference
 */

/**
 * Names step 00 writes and its transcript edits with sed: kubectl prints them
 * unquoted, and they hold no character sed or YAML would read as syntax.
 */
const SIMPLE_NAME_RE = /^[A-Za-z][A-Za-z0-9._-]*$/;
/** Plain words YAML 1.1 (kubectl's printer) reads as booleans or null, so kubectl would quote them. */
const YAML_WORDS = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null']);

/**
 * Whether a kubeconfig name is one step 00 can write and its transcript can
 * rename with sed: letters, digits, '.', '_' and '-', starting with a letter.
 * @param {string} name
 */
export function isSimpleName(name) {
  return SIMPLE_NAME_RE.test(name) && !YAML_WORDS.has(name.toLowerCase());
}

/** @param {unknown} v @returns {v is Record<string, any>} */
const isMap = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** @param {string} s */
const q = (s) => JSON.stringify(s);

/**
 * Reads and checks one K3s kubeconfig for step 00.
 * @param {string} value the variable's value: a path, '~' expanded, relative to cwd
 * @param {{ home: string, cwd: string, target: string }} where target: the file step 00 writes (KUBECONFIG's first entry)
 * @returns {K3sFileInfo | { error: string }} error: why it cannot be used (one line, no variable name)
 */
export function readK3sInput(value, where) {
  const file = path.resolve(where.cwd, expandHome(value, where.home));
  /** @type {string} */
  let text;
  /** @type {string} */
  let real;
  try {
    real = fs.realpathSync(file);
    if (fs.statSync(real).isDirectory()) return { error: `${file} is a folder; give the kubeconfig file copied from the K3s server (/etc/rancher/k3s/k3s.yaml)` };
    text = fs.readFileSync(real, 'utf8');
  } catch (err) {
    const code = /** @type {NodeJS.ErrnoException} */ (err).code;
    if (code === 'ENOENT') return { error: `${file} does not exist; copy /etc/rancher/k3s/k3s.yaml from the cluster's K3s server there` };
    return { error: `${file} cannot be read (${code ?? String(err)})` };
  }
  let target = where.target;
  try {
    target = fs.realpathSync(where.target);
  } catch { /* not there yet */ }
  if (real === target) {
    return { error: `${file} is the file KUBECONFIG names, where step 00 writes the merged kubeconfig; keep the K3s copy in a file of its own (or point KUBECONFIG elsewhere, like ~/.kube/config)` };
  }
  try {
    parseKubeconfig(text, file);
  } catch (err) {
    if (err instanceof KubeconfigError) return { error: err.message };
    throw err;
  }
  const doc = YAML.parse(text);
  const list = (/** @type {string} */ key) => (Array.isArray(doc[key]) ? doc[key] : []);
  const contexts = list('contexts');
  if (contexts.length !== 1) {
    return { error: `${file} has ${contexts.length} contexts${contexts.length ? ` (${contexts.map((c) => q(String(c?.name))).join(', ')})` : ''}; step 00 takes a kubeconfig with exactly one, as K3s writes it` };
  }
  const context = String(contexts[0].name);
  const body = isMap(contexts[0].context) ? contexts[0].context : {};
  const clusterName = typeof body.cluster === 'string' ? body.cluster : '';
  const userName = typeof body.user === 'string' ? body.user : '';
  const cluster = list('clusters').find((c) => isMap(c) && c.name === clusterName);
  const user = list('users').find((u) => isMap(u) && u.name === userName);
  if (!cluster) return { error: `${file}: its context ${q(context)} names cluster ${q(clusterName)}, which the file does not define, so this is not a usable kubeconfig` };
  if (!user) return { error: `${file}: its context ${q(context)} names user ${q(userName)}, which the file does not define, so this is not a usable kubeconfig` };
  const c = isMap(cluster.cluster) ? cluster.cluster : {};
  const server = typeof c.server === 'string' ? c.server : '';
  if (!/^https?:\/\/./.test(server)) return { error: `${file}: cluster ${q(clusterName)} has no server URL, so this is not a usable kubeconfig` };
  for (const [what, name] of [['context', context], ['cluster', clusterName], ['user', userName]]) {
    if (!isSimpleName(name)) {
      return { error: `${file} names its ${what} ${q(name)}; step 00 renames only names of letters, digits, '.', '_' and '-' (K3s writes "default"): rename it in the file` };
    }
  }
  const caData = typeof c['certificate-authority-data'] === 'string' ? c['certificate-authority-data'] : null;
  return { file: real, context, cluster: clusterName, user: userName, server, caData };
}

/**
 * A one-context kubeconfig (kubectl config view --flatten --minify) with its
 * context, cluster and user all called `name` and the server set to `server`.
 * @param {unknown} doc parsed YAML
 * @param {string} name
 * @param {string} server
 * @returns {Record<string, any>} a new object; doc is left as it was
 */
export function renameK3s(doc, name, server) {
  if (!isMap(doc)) throw new KubeconfigError('kubectl printed no kubeconfig');
  const one = (/** @type {string} */ key) => {
    const list = doc[key];
    if (!Array.isArray(list) || list.length !== 1 || !isMap(list[0])) {
      throw new KubeconfigError(`the minified kubeconfig has ${Array.isArray(list) ? list.length : 'no'} ${key}, not one`);
    }
    return list[0];
  };
  const cluster = one('clusters');
  const context = one('contexts');
  const user = one('users');
  return {
    ...doc,
    clusters: [{ ...cluster, name, cluster: { ...cluster.cluster, server } }],
    contexts: [{ ...context, name, context: { ...context.context, cluster: name, user: name } }],
    users: [{ ...user, name }],
    'current-context': name,
  };
}

/**
 * The entry of a kubeconfig list with this name.
 * @param {unknown} doc @param {'clusters' | 'contexts' | 'users'} key @param {string} name
 * @returns {Record<string, any> | undefined}
 */
export function entry(doc, key, name) {
  const list = isMap(doc) && Array.isArray(doc[key]) ? doc[key] : [];
  return list.find((e) => isMap(e) && e.name === name);
}

/** @param {unknown} a @param {unknown} b */
const sameJson = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));

/** @param {unknown} v @returns {unknown} */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isMap(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

/**
 * The CA of a cluster entry, for comparing (embedded data, as --flatten prints it).
 * @param {Record<string, any> | undefined} cluster
 */
export const caOf = (cluster) => {
  const data = cluster?.cluster?.['certificate-authority-data'];
  return typeof data === 'string' ? data.trim() : null;
};

/**
 * Why a merged kubeconfig does not hold `fresh`'s cluster, context and user
 * under `name` — which, since the target's entries come first in the merge and
 * win, means the target already had others of that name — or null when it does.
 * Says what is there and how to resolve it; never shows credentials.
 * @param {unknown} merged the merge result (kubectl config view --flatten)
 * @param {Record<string, any>} fresh the renamed K3s kubeconfig
 * @param {string} name
 * @param {{ target: string, variable: string }} about target: the file's path; variable: CLUSTER_X_CONTEXT
 * @returns {string | null}
 */
export function conflictOf(merged, fresh, name, about) {
  const kc = `kubectl --kubeconfig ${about.target} config`;
  const other = `or, if you still use it, give this cluster another name with ${about.variable}`;
  const want = entry(fresh, 'clusters', name);
  const have = entry(merged, 'clusters', name);
  if (have && want) {
    const hs = have.cluster?.server;
    const ws = want.cluster?.server;
    if (hs !== ws) {
      return `${about.target} already has a cluster named ${q(name)} with server ${hs}, not ${ws}: another cluster, or this one at an old address. ` +
        `Nothing was changed. If that entry is stale, remove it (\`${kc} delete-cluster ${name}\`) and run step 00 again; ${other}`;
    }
    if (caOf(have) !== caOf(want)) {
      return `${about.target} already has a cluster named ${q(name)} with server ${hs} but another CA certificate: another cluster (or a reinstalled one) at that address. ` +
        `Nothing was changed. If that entry is stale, remove it (\`${kc} delete-cluster ${name}\`) and run step 00 again; ${other}`;
    }
  }
  const ctx = entry(merged, 'contexts', name);
  if (ctx && (ctx.context?.cluster !== name || ctx.context?.user !== name)) {
    return `${about.target} already has a context named ${q(name)} that uses cluster ${q(String(ctx.context?.cluster ?? ''))} and user ${q(String(ctx.context?.user ?? ''))}, ` +
      `not ${q(name)} (renaming only the context is the classic K3s merge). Nothing was changed. ` +
      `Remove it (\`${kc} delete-context ${name}\`) and run step 00 again; ${other}`;
  }
  const haveUser = entry(merged, 'users', name);
  const wantUser = entry(fresh, 'users', name);
  if (haveUser && wantUser && !sameJson(haveUser.user, wantUser.user)) {
    return `${about.target} already has a user named ${q(name)} with other credentials than the K3s kubeconfig (K3s renews its client certificates every year, so the K3s file may be the newer one). ` +
      `Nothing was changed. To take the K3s file's, remove the old ones (\`${kc} delete-user ${name}\`) and run step 00 again; ${other}`;
  }
  return null;
}

/** The UTC time for a backup's name, like 20250102T030405Z (as `date -u +%Y%m%dT%H%M%SZ`). @param {Date} [d] */
export const backupStamp = (d = new Date()) => d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
