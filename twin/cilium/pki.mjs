// @ts-check
// Certificate material for the stand-in, made with the openssl CLI (what Helm's
// genCA and Cilium's certgen make in a real cluster): the Cilium CA and the
// clustermesh-apiserver certificates signed by it. Keys only ever go to a private
// temporary folder (mode 0700) that is removed at once, and into Secrets.
// Also reads the Subject Key Identifier the CLI compares in `clustermesh connect`.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

const OPENSSL = process.env.TWIN_OPENSSL ?? 'openssl';

/** @param {string[]} args @param {string} cwd */
function openssl(args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(OPENSSL, args, { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args[0]} failed: ${String(stderr).split('\n')[0] || err.message}`));
      else resolve(undefined);
    });
  });
}

/** @template T @param {(dir: string) => Promise<T>} fn @returns {Promise<T>} */
async function inTempDir(fn) {
  const dir = await mkdtemp(join(tmpdir(), 'twin-cilium-pki-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A self-signed CA (Helm's genCA "Cilium CA").
 * @param {string} cn @param {number} days
 * @returns {Promise<{ cert: string, key: string }>}
 */
export function generateCA(cn, days) {
  return inTempDir(async (dir) => {
    await writeFile(join(dir, 'req.cnf'), [
      '[req]', 'distinguished_name=dn', 'x509_extensions=v3', 'prompt=no', '[dn]', `CN=${cn}`,
      '[v3]', 'basicConstraints=critical,CA:TRUE', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
      'subjectKeyIdentifier=hash', '',
    ].join('\n'), { mode: 0o600 });
    await openssl(['req', '-x509', ...KEY, '-config', 'req.cnf', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', String(days)], dir);
    return { cert: await readFile(join(dir, 'ca.crt'), 'utf8'), key: await readFile(join(dir, 'ca.key'), 'utf8') };
  });
}

/**
 * A leaf certificate signed by the CA.
 * @param {{ caCert: string, caKey: string, cn: string, days: number, usage: 'server'|'client'|'both', dns?: string[], ips?: string[] }} o
 * @returns {Promise<{ cert: string, key: string }>}
 */
export function signLeaf(o) {
  return inTempDir(async (dir) => {
    await writeFile(join(dir, 'ca.crt'), o.caCert, { mode: 0o600 });
    await writeFile(join(dir, 'ca.key'), o.caKey, { mode: 0o600 });
    const eku = o.usage === 'server' ? 'serverAuth' : o.usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
    const sans = [...(o.dns ?? []).map((d) => `DNS:${d}`), ...(o.ips ?? []).map((i) => `IP:${i}`)];
    await writeFile(join(dir, 'req.cnf'), [
      '[req]', 'distinguished_name=dn', 'x509_extensions=v3', 'prompt=no', '[dn]', `CN=${o.cn}`,
      '[v3]', 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${eku}`, 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid',
      ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []), '',
    ].join('\n'), { mode: 0o600 });
    await openssl(['req', '-x509', ...KEY, '-config', 'req.cnf', '-keyout', 'tls.key', '-out', 'tls.crt',
      '-days', String(o.days), '-CA', 'ca.crt', '-CAkey', 'ca.key'], dir);
    return { cert: await readFile(join(dir, 'tls.crt'), 'utf8'), key: await readFile(join(dir, 'tls.key'), 'utf8') };
  });
}

/**
 * DER bytes of the first CERTIFICATE block of a PEM text (Go's pem.Decode), or null.
 * @param {string | Buffer} pem
 */
export function pemToDer(pem) {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(String(pem));
  if (!m) return null;
  return Buffer.from(m[2].replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
}

/**
 * Reads one DER TLV at `pos`.
 * @param {Buffer} b @param {number} pos
 * @returns {{ tag: number, start: number, end: number, next: number }}
 */
function tlv(b, pos) {
  const tag = b[pos];
  let len = b[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[pos + 2 + i];
    start = pos + 2 + n;
  }
  return { tag, start, end: start + len, next: start + len };
}

const SKI_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]);

/**
 * The Subject Key Identifier of a certificate (x509.Certificate.SubjectKeyId), empty when absent.
 * Throws when the bytes are not a certificate.
 * @param {Buffer} der
 */
export function subjectKeyId(der) {
  const cert = tlv(der, 0);
  if (cert.tag !== 0x30 || cert.end > der.length) throw new Error('x509: malformed certificate');
  const at = der.indexOf(SKI_OID);
  if (at < 0) return Buffer.alloc(0);
  let p = at + SKI_OID.length;
  if (der[p] === 0x01) p = tlv(der, p).next; // critical flag
  const outer = tlv(der, p); // OCTET STRING wrapping the extension value
  if (outer.tag !== 0x04) return Buffer.alloc(0);
  const inner = tlv(der, outer.start);
  if (inner.tag !== 0x04) return Buffer.alloc(0);
  return der.subarray(inner.start, inner.end);
}

/**
 * sha256 hex of a CA certificate as the twin's data plane reports it; both the
 * PEM bytes (decoded Secret data) and the DER are offered so either reading matches.
 * @param {Buffer} pemBytes
 */
export function caFingerprints(pemBytes) {
  const der = pemToDer(pemBytes);
  const set = new Set([createHash('sha256').update(pemBytes).digest('hex')]);
  if (der) set.add(createHash('sha256').update(der).digest('hex'));
  return set;
}
