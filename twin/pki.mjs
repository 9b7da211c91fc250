// @ts-check
// Certificates of one simulated cluster, made with the openssl CLI like a K3s
// server makes its own at first start: a CA, a serving certificate for
// 127.0.0.1/localhost and an admin client certificate (CN=system:admin,
// O=system:masters). kubectl authenticates with the client certificate, exactly
// as with a K3s kubeconfig. Keys stay in the twin's folder (test material).
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomInt } from 'node:crypto';

const run = promisify(execFile);
const OPENSSL = process.env.TWIN_OPENSSL ?? 'openssl';

/**
 * @typedef {object} ClusterPki
 * @property {string} dir
 * @property {string} caCert PEM
 * @property {string} serverCert PEM
 * @property {string} serverKey PEM
 * @property {string} clientCert PEM
 * @property {string} clientKey PEM
 */

/** @param {string[]} args */
async function openssl(args) {
  try {
    await run(OPENSSL, args, { timeout: 30_000 });
  } catch (e) {
    const err = /** @type {{stderr?: string, message: string}} */ (e);
    throw new Error(`openssl ${args[0]} failed: ${err.stderr || err.message}`);
  }
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * Makes a key and a certificate signed by the CA in `dir`.
 * @param {string} dir
 * @param {string} name file stem
 * @param {string} subject e.g. /O=system:masters/CN=system:admin
 * @param {string[]} extensions lines of an openssl extension section
 */
async function leaf(dir, name, subject, extensions) {
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, `[v3]\n${extensions.join('\n')}\n`);
  await openssl(['req', '-new', ...KEY, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', subject]);
  await openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
    '-set_serial', String(randomInt(1, 2 ** 47)), '-days', '3650', '-extfile', ext, '-extensions', 'v3', '-out', join(dir, `${name}.crt`)]);
  await chmod(join(dir, `${name}.key`), 0o600);
}

/**
 * Creates (in `dir`, made if missing) the CA, server and client certificates of one cluster.
 * @param {string} dir
 * @param {string} [caName] common name of the CA, K3s style "k3s-server-ca@<unix time>"
 * @returns {Promise<ClusterPki>}
 */
export async function createClusterPki(dir, caName = `k3s-server-ca@${Math.floor(Date.now() / 1000)}`) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await openssl(['req', '-x509', ...KEY, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '3650',
    '-subj', `/CN=${caName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign']);
  await chmod(join(dir, 'ca.key'), 0o600);
  await Promise.all([
    leaf(dir, 'server', '/O=k3s/CN=k3s', [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
    ]),
    leaf(dir, 'client-admin', '/O=system:masters/CN=system:admin', [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=clientAuth',
    ]),
  ]);
  const read = (/** @type {string} */ f) => readFile(join(dir, f), 'utf8');
  const [caCert, serverCert, serverKey, clientCert, clientKey] = await Promise.all(
    ['ca.crt', 'server.crt', 'server.key', 'client-admin.crt', 'client-admin.key'].map(read));
  return { dir, caCert, serverCert, serverKey, clientCert, clientKey };
}
