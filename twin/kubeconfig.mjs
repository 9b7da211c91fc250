// @ts-check
// Kubeconfigs of the twin. Each cluster gets one as K3s writes it
// (/etc/rancher/k3s/k3s.yaml: cluster, user and context all named "default"),
// and the twin writes a merged one whose three names per cluster are the
// context names asked for (renaming only the context is the classic trap: the
// first "default" cluster and user would win for both).
import { writeFile, chmod } from 'node:fs/promises';

/**
 * @typedef {object} KubeconfigEntry
 * @property {string} name cluster, user and context name
 * @property {string} server https://127.0.0.1:PORT
 * @property {string} caCert PEM
 * @property {string} clientCert PEM
 * @property {string} clientKey PEM
 */

/** @param {string} pem */
const b64 = (pem) => Buffer.from(pem).toString('base64');

/**
 * Renders a kubeconfig with the given entries (kubectl's own key order).
 * @param {KubeconfigEntry[]} entries
 * @param {string} current current-context
 */
export function renderKubeconfig(entries, current) {
  const lines = ['apiVersion: v1', 'clusters:'];
  for (const e of entries) {
    lines.push('- cluster:', `    certificate-authority-data: ${b64(e.caCert)}`, `    server: ${e.server}`, `  name: ${e.name}`);
  }
  lines.push('contexts:');
  for (const e of entries) lines.push('- context:', `    cluster: ${e.name}`, `    user: ${e.name}`, `  name: ${e.name}`);
  lines.push(`current-context: ${current}`, 'kind: Config', 'preferences: {}', 'users:');
  for (const e of entries) {
    lines.push(`- name: ${e.name}`, '  user:', `    client-certificate-data: ${b64(e.clientCert)}`, `    client-key-data: ${b64(e.clientKey)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A K3s-style kubeconfig: everything named "default".
 * @param {Omit<KubeconfigEntry, 'name'>} e
 */
export function k3sKubeconfig(e) {
  return renderKubeconfig([{ ...e, name: 'default' }], 'default');
}

/**
 * Writes a kubeconfig readable by its owner only (it holds a client key).
 * @param {string} path @param {string} text
 */
export async function writeKubeconfig(path, text) {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
}
