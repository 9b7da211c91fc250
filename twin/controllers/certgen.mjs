// @ts-check
// What cilium-certgen (image quay.io/cilium/certgen, the container of the
// chart's `*-generate-certs` Jobs) does when its pod runs, read from the
// container's args and its CILIUM_CERTGEN_CONFIG:
// - the CA: with --ca-reuse-secret, Secret <--ca-secret-namespace>/<--ca-secret-name>
//   (keys ca.crt, ca.key) when it exists; else, with --ca-generate, a new CA named
//   --ca-common-name, stored in that Secret; else it fails;
// - each entry of `certs:` (name, namespace, commonName, hosts, usage, validity):
//   a key and certificate signed by the CA, in a kubernetes.io/tls Secret (ca.crt,
//   tls.crt, tls.key), created, or replaced when it exists (so every run renews them).
// The twin signs with openssl (twin/cilium/pki.mjs); keys go only into Secrets.
// certgenSecrets computes the Secrets without a store: runCertgen writes them to
// the twin's, tools/real-backend/certgen-watch.mjs to a real apiserver.
import { isIP } from 'node:net';
import { generateCA, signLeaf } from '../cilium/pki.mjs';

/** @typedef {import('../store/store.mjs').Store} Store */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */

const SECRETS = '/secrets';

/** Whether a container is certgen. @param {any} c */
export function isCertgen(c) {
  return /(^|\/)cilium\/certgen([:@]|$)/.test(String(c?.image ?? '')) || (c?.command ?? []).some((/** @type {string} */ x) => /cilium-certgen$/.test(String(x)));
}

/**
 * certgen's flags (pflag syntax: --name=value, --name value, bare booleans).
 * @param {string[]} args @returns {Record<string, string>}
 */
export function certgenFlags(args) {
  /** @type {Record<string, string>} */
  const out = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(String(args[i]));
    if (!m) continue;
    if (m[2] !== undefined) out[m[1]] = m[2];
    else if (i + 1 < args.length && !String(args[i + 1]).startsWith('-') && !/^(ca-generate|ca-reuse-secret|debug)$/.test(m[1])) out[m[1]] = String(args[++i]);
    else out[m[1]] = 'true';
  }
  return out;
}

/** Go duration ("26280h", "1095h0m0s", "720h30m") in days, rounded up. @param {unknown} d */
export function durationDays(d) {
  let ms = 0;
  for (const [, n, unit] of String(d ?? '').matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms)/g)) {
    ms += Number(n) * ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1 })[/** @type {'h'|'m'|'s'|'ms'} */ (unit)];
  }
  return ms > 0 ? Math.max(1, Math.ceil(ms / 86_400_000)) : 1095;
}

/** @param {string} s */
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
/** @param {string | undefined} s */
const unb64 = (s) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/**
 * Creates the Secret, or replaces the whole object when it exists (certgen's Create, then Update).
 * @param {Store} store @param {KubeObject} secret
 */
function createOrReplace(store, secret) {
  const ns = secret.metadata.namespace ?? '';
  const live = store.get(SECRETS, ns, secret.metadata.name);
  if (!live) return store.create(SECRETS, secret);
  const { uid, creationTimestamp, resourceVersion } = live.metadata;
  return store.update(SECRETS, { ...secret, metadata: { ...secret.metadata, uid, creationTimestamp, resourceVersion } });
}

/**
 * Where certgen's CA Secret is, and whether certgen reads it (with --ca-reuse-secret,
 * or without --ca-generate) before deciding to generate one.
 * @param {string} podNs @param {any} container
 * @returns {{ namespace: string, name: string, read: boolean }}
 */
export function certgenCa(podNs, container) {
  const flags = certgenFlags([...(container.command ?? []).slice(1), ...(container.args ?? [])]);
  const generate = (flags['ca-generate'] ?? 'false') === 'true';
  const reuse = (flags['ca-reuse-secret'] ?? 'false') === 'true';
  return { namespace: flags['ca-secret-namespace'] || podNs, name: flags['ca-secret-name'] || 'cilium-ca', read: reuse || !generate };
}

/**
 * What certgen writes for one container of a pod in namespace `podNs`, given the
 * CA Secret as it is (undefined when missing, or not read): the generated CA's
 * Secret first (when it makes one), then one kubernetes.io/tls Secret per `certs:` entry.
 * Throws as certgen fails (no usable CA). Writes nothing.
 * @param {string} podNs @param {any} container @param {KubeObject | undefined} existing
 * @returns {Promise<KubeObject[]>}
 */
export async function certgenSecrets(podNs, container, existing) {
  const flags = certgenFlags([...(container.command ?? []).slice(1), ...(container.args ?? [])]);
  const env = Object.fromEntries((container.env ?? []).filter((/** @type {any} */ e) => typeof e?.value === 'string').map((/** @type {any} */ e) => [e.name, e.value]));
  const Y = await import('yaml');
  const config = env.CILIUM_CERTGEN_CONFIG ? Y.parse(env.CILIUM_CERTGEN_CONFIG) : {};
  const { namespace: caNs, name: caName, read } = certgenCa(podNs, container);
  const generate = (flags['ca-generate'] ?? 'false') === 'true';
  /** @type {KubeObject[]} */
  const out = [];

  /** @type {{ cert: string, key: string } | undefined} */
  let ca;
  if (read && existing) {
    const cert = unb64(existing.data?.['ca.crt']);
    const key = unb64(existing.data?.['ca.key']);
    if (!cert) throw new Error(`secret ${caNs}/${caName} has no CA cert`);
    if (!key) throw new Error(`secret ${caNs}/${caName} has no CA key`);
    ca = { cert, key };
  } else if (generate) {
    ca = await generateCA(flags['ca-common-name'] || 'Cilium CA', durationDays(flags['ca-validity-duration'] ?? '26280h'));
    out.push({
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: caName, namespace: caNs },
      data: { 'ca.crt': b64(ca.cert), 'ca.key': b64(ca.key) },
    });
  } else {
    throw new Error(`failed to load CA secret: secrets "${caName}" not found`);
  }

  for (const c of Array.isArray(config?.certs) ? config.certs : []) {
    /** @type {string[]} */
    const hosts = (Array.isArray(c.hosts) && c.hosts.length ? c.hosts : [c.commonName]).map(String);
    const usage = (Array.isArray(c.usage) ? c.usage : []).map(String);
    const server = usage.includes('server auth');
    const client = usage.includes('client auth');
    const leaf = await signLeaf({
      caCert: ca.cert, caKey: ca.key, cn: String(c.commonName ?? ''), days: durationDays(c.validity),
      usage: server && client ? 'both' : server ? 'server' : 'client',
      dns: hosts.filter((h) => !isIP(h)), ips: hosts.filter((h) => isIP(h)),
    });
    out.push({
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: String(c.name), namespace: String(c.namespace || podNs) },
      data: { 'ca.crt': b64(ca.cert), 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key) },
    });
  }
  return out;
}

/**
 * Runs certgen for one container of a pod in namespace `podNs`, on the twin's store.
 * @param {Store} store @param {string} podNs @param {any} container
 * @returns {Promise<string[]>} the names of the Secrets written
 */
export async function runCertgen(store, podNs, container) {
  const ref = certgenCa(podNs, container);
  const existing = ref.read ? store.get(SECRETS, ref.namespace, ref.name) : undefined;
  const secrets = await certgenSecrets(podNs, container, existing);
  for (const s of secrets) createOrReplace(store, s);
  return secrets.map((s) => s.metadata.name);
}
