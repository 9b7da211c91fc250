// @ts-check
// The settings' view of kubeconfigs: reading KUBECONFIG and step 00's K3s
// kubeconfigs (for loadConfig), and checking them (for buildConfig).
import fs from 'node:fs';
import path from 'node:path';
import { expandHome, resolveKubeconfigPaths, tryReadKubeconfig } from './kubeconfig-read.mjs';
import { readK3sInput } from './k3s-kubeconfig.mjs';
import { DEFAULTS } from './config-table.mjs';
import { q } from './config-parsers.mjs';

/** @typedef {import('./types.d.ts').ClusterKey} ClusterKey */
/** @typedef {import('./k3s-kubeconfig.mjs').K3sFileInfo} K3sFileInfo */
/** @typedef {import('./config-reader.mjs').Reader} Reader */
/**
 * What buildConfig needs to know about the kubeconfig: its contexts and each
 * context's server URL (null when the context's cluster is not defined), or why
 * it could not be read.
 * @typedef {{ contexts: Map<string, { server: string | null, cluster?: string }> } | { error: string }} KubeconfigInfo
 */
/** @typedef {Partial<Record<ClusterKey, K3sFileInfo | { error: string }>>} K3sInfo */

/** Whether a file does not exist yet or holds nothing but whitespace (step 00 may create it). @param {string} file */
function isMissingOrBlank(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim() === '';
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT';
  }
}

/**
 * Reads the kubeconfig KUBECONFIG names and the K3s kubeconfigs step 00 merges
 * into its first file (which may not exist yet).
 * @param {Record<string, string | undefined>} vars
 * @param {{ home: string, cwd: string }} where
 * @returns {{ kube: KubeconfigInfo, k3s: K3sInfo }}
 */
export function readKubeconfigs(vars, { home, cwd }) {
  const kubeconfigValue = (vars.KUBECONFIG ?? '').trim() || DEFAULTS.KUBECONFIG;
  /** @type {KubeconfigInfo} */
  let kube = tryReadKubeconfig(kubeconfigValue, { home, cwd });
  const target = resolveKubeconfigPaths(kubeconfigValue, { home, cwd })[0] ?? '';
  /** @type {K3sInfo} */
  const k3s = {};
  for (const key of /** @type {ClusterKey[]} */ (['a', 'b'])) {
    const v = (vars[`CLUSTER_${key.toUpperCase()}_K3S_KUBECONFIG`] ?? '').trim();
    if (v !== '') k3s[key] = readK3sInput(v, { home, cwd, target });
  }
  if ((k3s.a || k3s.b) && 'error' in kube && isMissingOrBlank(target)) kube = { contexts: new Map() };
  return { kube, k3s };
}

/**
 * Step 00's inputs: both K3s kubeconfigs or neither, two different files from
 * two different clusters. k3sMode when either is set.
 * @param {Reader} r
 * @param {{ home: string, cwd: string, k3s?: K3sInfo }} options
 *   k3s: the files as readK3sInput read them; one left out is taken to be as K3s writes it
 */
export function checkK3sFiles(r, { home, cwd, k3s }) {
  const values = { a: r.value('CLUSTER_A_K3S_KUBECONFIG'), b: r.value('CLUSTER_B_K3S_KUBECONFIG') };
  const k3sMode = values.a !== '' || values.b !== '';
  /** @type {Partial<Record<ClusterKey, K3sFileInfo>>} */
  const files = {};
  for (const key of /** @type {ClusterKey[]} */ (k3sMode ? ['a', 'b'] : [])) {
    const [X, O] = key === 'a' ? ['A', 'B'] : ['B', 'A'];
    const variable = `CLUSTER_${X}_K3S_KUBECONFIG`;
    if (values[key] === '') {
      r.problem(variable, `is empty while CLUSTER_${O}_K3S_KUBECONFIG is set; step 00 merges both clusters' K3s kubeconfigs, so set both (or neither, when KUBECONFIG already holds both contexts)`);
      continue;
    }
    const info = k3s?.[key] ?? {
      file: path.resolve(cwd, expandHome(values[key], home)), context: 'default', cluster: 'default', user: 'default', server: 'https://127.0.0.1:6443', caData: null,
    };
    if ('error' in info) r.problem(variable, info.error);
    else files[key] = info;
  }
  if (files.a && files.b) {
    if (files.a.file === files.b.file) {
      r.problem('CLUSTER_B_K3S_KUBECONFIG', `is the same file as CLUSTER_A_K3S_KUBECONFIG (${files.a.file}), so both clusters would be one; copy /etc/rancher/k3s/k3s.yaml from each cluster's own K3s server`);
    } else if (files.a.caData !== null && files.a.caData.trim() === files.b.caData?.trim()) {
      r.problem('CLUSTER_B_K3S_KUBECONFIG', `${files.b.file} holds the same cluster CA certificate as CLUSTER_A_K3S_KUBECONFIG (${files.a.file}), so both come from one cluster; copy /etc/rancher/k3s/k3s.yaml from cluster B's own K3s server`);
    }
  }
  return { k3sMode, files };
}

/**
 * What Config.k3s keeps of a K3s kubeconfig (no CA data: step 00 reads the file again).
 * @param {K3sFileInfo} info
 */
export const k3sInput = (info) => ({ file: info.file, context: info.context, cluster: info.cluster, user: info.user, server: info.server });

/**
 * The server of a context that must be in the kubeconfig; '' (with a problem) when
 * it is missing or has none.
 * @param {Reader} r
 * @param {string} variable the CONTEXT variable
 * @param {string} context
 * @param {Map<string, { server: string | null, cluster?: string }>} contexts
 * @param {string} kubeconfig the resolved paths, for the message
 * @returns {{ server: string, cluster?: string }}
 */
export function contextServer(r, variable, context, contexts, kubeconfig) {
  const entry = contexts.get(context);
  if (!entry) {
    const names = [...contexts.keys()];
    let message = `context ${q(context)} is not in the kubeconfig (${kubeconfig}); `;
    message += names.length ? `it has: ${names.join(', ')}` : 'it has no contexts';
    if (names.includes('default')) {
      message += `. K3s kubeconfigs call their context, cluster and user "default": rename all three per cluster before merging`;
    }
    r.problem(variable, message);
  } else if (entry.server === null) {
    r.problem(variable, `context ${q(context)} refers to cluster ${q(entry.cluster ?? '')}, which the kubeconfig does not define`);
  } else if (entry.server === '') {
    r.problem(variable, `context ${q(context)} refers to cluster ${q(entry.cluster ?? '')}, which has no server URL in the kubeconfig`);
  } else {
    return { server: entry.server, cluster: entry.cluster };
  }
  return { server: '' };
}
