// @ts-check
// Mechanics of step 02, which copies cluster A's Cilium CA to cluster B: the
// check (does B trust A's CA?) and the in-memory pipe. The Secret `cilium-ca`
// holds the CA's private key: it goes from A to B through memory only — A's
// `kubectl get -o yaml` into this process, the server fields dropped line by
// line exactly as the transcript's sed drops them, into `kubectl create -f -`
// on B — never a file, an argument or a line on the screen.
import { ciliumCa } from './probes.mjs';
import { Manifest } from './manifests.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./commands.mjs').Cmd} Cmd */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * Fields of `kubectl get -o yaml` that the API server sets: `kubectl create`
 * refuses a resourceVersion, and B's server gives the copy its own uid and time.
 * (managedFields are not printed by kubectl; a Secret has no generation.)
 */
const SERVER_FIELDS = ['resourceVersion', 'uid', 'creationTimestamp'];

/** A server field's line: two spaces in, under `metadata:` (data and labels lines that merely mention one are kept). */
const serverFieldLine = (/** @type {string} */ f) => `  ${f}: `;

/** The transcript's filter: the server fields' lines deleted, anchored (the article's `sed '/uid/d'` would also delete any line holding "uid"). */
export const DROP_SERVER_FIELDS = `sed ${SERVER_FIELDS.map((f) => `-e '/^${serverFieldLine(f)}/d'`).join(' ')}`;

/**
 * What DROP_SERVER_FIELDS does, in memory: the same lines deleted, everything else as kubectl printed it.
 * @param {string} yaml
 */
export const dropServerFields = (yaml) =>
  yaml.split('\n').filter((l) => !SERVER_FIELDS.some((f) => l.startsWith(serverFieldLine(f)))).join('\n');

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
 * Step 02's check: done when B holds A's cilium-ca (the same ca.crt and
 * ca.key); blocked while A has none, or when B holds another CA.
 * @param {Runtime} rt
 * @param {Config} config
 * @returns {Promise<CheckResult>}
 */
export async function caShared(rt, { a, b }) {
  const [ca, cb] = await Promise.all([ciliumCa(rt, a), ciliumCa(rt, b)]);
  if (!ca) {
    // HUBBLE_ENABLED=false is refused (config-checks.mjs): installing Cilium makes the CA for Hubble's certificates.
    return { state: 'blocked', message: `${a.context} has no Secret kube-system/cilium-ca yet: run step 01 (npm run 01) first; installing Cilium creates it ` +
      `(if Cilium is installed there and the Secret was deleted, run \`cilium uninstall --context ${a.context}\` and step 01 again).` };
  }
  if (!cb) return { state: 'todo', detail: `${b.context} has no cilium-ca yet` };
  if (sameKeys(ca, cb)) return { state: 'done', detail: `${b.context} already trusts ${a.context}'s CA` };
  return {
    state: 'blocked',
    message: `${b.context} already has a different Cilium CA (was Cilium installed on ${b.context} before the CA was shared?). ` +
      `Nothing was changed. To fix it: \`cilium uninstall --context ${b.context}\`, ` +
      `\`kubectl --context ${b.context} delete secret -n kube-system cilium-ca\`, then run steps 02 and 03 again.`,
  };
}

/**
 * The pipe `get | DROP_SERVER_FIELDS | create -f -`, run in memory: `get`'s
 * output (A's Secret) never printed, its server fields dropped, on `create`'s
 * stdin. A retried create whose first attempt got through is fine once B holds A's CA.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {Cmd} get `kubectl get secret … -o yaml` on A
 * @param {Cmd} create `kubectl create -f -` on B
 * @returns {Promise<string>} the result line's detail
 */
export async function copyCa(rt, { a, b }, get, create) {
  rt.announce(`${rt.line(get)} | (drop server fields in memory) | ${rt.line(create)}`);
  const { stdout } = await rt.exec(get.holdsSecret(), { quiet: true });
  let secret;
  try {
    secret = new Manifest('(the Secret, in memory)', dropServerFields(stdout));
  } catch {
    throw new Error(`${rt.line(get)} printed no Secret that kubectl create could take`); // its text holds the key: not quoted
  }
  try {
    await rt.exec(create.withStdin(secret).holdsSecret(), { quiet: true });
  } catch (err) {
    if (await sameCa(rt, a, b) !== 'same') throw err;
  }
  return `copied in memory; ${b.context} now trusts ${a.context}'s CA`;
}

/**
 * Step 02's verification: B's copy is A's CA (compared here; no command prints the key).
 * @param {Runtime} rt
 * @param {Config} config
 */
export async function caCopied(rt, { a, b }) {
  const verdict = await sameCa(rt, a, b);
  if (verdict !== 'same') throw new Error(`after the copy: ${verdict}`);
}
