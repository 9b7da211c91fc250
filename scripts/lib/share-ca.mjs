// @ts-check
// Sharing cluster A's Cilium CA with cluster B (step 02). Both clusters must
// trust one CA or ClusterMesh refuses to connect them. The Secret `cilium-ca`
// holds the CA's private key: it goes from A to B through memory only — read
// with kubectl into this process, server fields dropped, piped to kubectl's
// stdin — never a file, an argument or a line on the screen. `kubectl create`,
// not `apply`: apply would copy the whole Secret, key included, into the
// last-applied-configuration annotation.
import { kubectl } from './commands.mjs';
import { ciliumCa } from './probes.mjs';
import { Manifest } from './manifests.mjs';
import { commandLine } from './shell.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/** Fields the API server sets; `kubectl create` refuses a resourceVersion. */
const SERVER_FIELDS = ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'generation', 'selfLink'];

/** @param {any} a @param {any} b */
const sameKeys = (a, b) => a?.data?.['ca.crt'] === b?.data?.['ca.crt'] && a?.data?.['ca.key'] === b?.data?.['ca.key'];

/**
 * Does `to` hold the same cilium-ca as `from`?
 * @param {Runtime} rt
 * @param {ClusterConfig} from
 * @param {ClusterConfig} to
 * @returns {Promise<'same' | string>} 'same', or what is wrong
 */
export async function sameCa(rt, from, to) {
  const [a, b] = await Promise.all([ciliumCa(rt, from), ciliumCa(rt, to)]);
  if (!a) return `${from.context} has no cilium-ca Secret`;
  if (!b) return `${to.context} has no cilium-ca Secret`;
  return sameKeys(a, b) ? 'same' : `${to.context} has a different cilium-ca`;
}

/**
 * The Secret as B should receive it: server fields gone, Helm's ownership labels
 * and annotations kept so that `cilium install` on B adopts it.
 * @param {any} secret
 */
export function portableSecret(secret) {
  const metadata = { ...secret.metadata };
  for (const f of SERVER_FIELDS) delete metadata[f];
  const annotations = { ...(metadata.annotations ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  metadata.annotations = annotations;
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: secret.type, data: secret.data };
}

/**
 * @param {Config} config
 * @returns {Action}
 */
export function shareCa(config) {
  const { a, b } = config;
  const read = kubectl(a, 'get', 'secret', '-n', 'kube-system', 'cilium-ca', '-o', 'yaml');
  const write = kubectl(b, 'create', '-f', '-');
  const sed = "sed -e '/^  resourceVersion: /d' -e '/^  uid: /d' -e '/^  creationTimestamp: /d'";
  return {
    title: `Copy Secret kube-system/cilium-ca from ${a.context} to ${b.context}`,
    async check(rt) {
      const [ca, cb] = await Promise.all([ciliumCa(rt, a), ciliumCa(rt, b)]);
      if (!ca) {
        return { state: 'blocked', message: `${a.context} has no Secret kube-system/cilium-ca yet: run step 01 (npm run 01) first; installing Cilium creates it.` };
      }
      if (!cb) return { state: 'todo', detail: `${b.context} has no cilium-ca yet`, data: ca };
      if (sameKeys(ca, cb)) return { state: 'done', detail: `${b.context} already trusts ${a.context}'s CA` };
      return {
        state: 'blocked',
        message: `${b.context} already has a different Cilium CA (was Cilium installed on ${b.context} before the CA was shared?). ` +
          `Nothing was changed. To fix it: \`cilium uninstall --context ${b.context}\`, ` +
          `\`kubectl --context ${b.context} delete secret -n kube-system cilium-ca\`, then run steps 02 and 03 again.`,
      };
    },
    async run(rt, check) {
      const secret = check.state === 'todo' ? check.data : null;
      const payload = new Manifest('(the Secret, in memory)', JSON.stringify(portableSecret(secret)));
      rt.announce(`${rt.line(read)} | (drop server fields in memory) | ${rt.line(write)}`);
      try {
        await rt.exec({ ...write, stdin: payload, secret: true }, { quiet: true });
      } catch (err) {
        // A retried create whose first attempt got through: fine if the CA is now the same.
        if (await sameCa(rt, a, b) !== 'same') throw err;
      }
      return `copied in memory; ${b.context} now trusts ${a.context}'s CA`;
    },
    async verifyRun(rt) {
      const verdict = await sameCa(rt, a, b);
      if (verdict !== 'same') throw new Error(`after the copy: ${verdict}`);
    },
    transcript: [
      '# The Secret holds the CA key: pipe it, never save it to a file.',
      `${commandLine(read.tool, read.args)} \\\n  | ${sed} \\\n  | ${commandLine(write.tool, write.args)}`,
    ],
  };
}
