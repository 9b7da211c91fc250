// @ts-check
// One kube-apiserver for one cluster, as K3s runs its own: client-certificate
// auth (anonymous off), Node,RBAC authorization, service accounts signed by a
// key of the cluster's, serving on a loopback address only.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort, startProcess, waitReady } from './procs.mjs';
import { writeAuditPolicy } from './audit.mjs';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';

/**
 * A request to the apiserver with the admin client certificate: status and
 * body, or an error when the whole answer has not come within `ms`.
 * @param {string} server https://host:port
 * @param {import('../../twin/pki.mjs').ClusterPki} pki
 * @param {string} method @param {string} path @param {unknown} [body] sent as JSON
 * @param {{ ms?: number, agent?: import('node:https').Agent, userAgent?: string }} [o] ms: deadline (default 10 s);
 *   agent: e.g. one that keeps connections alive
 * @returns {Promise<{ status: number, body: string }>}
 */
export function adminRequest(server, pki, method, path, body, o = {}) {
  const ms = o.ms ?? 10_000;
  return new Promise((resolve, reject) => {
    /** @type {Record<string, string>} */
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    if (o.userAgent) headers['user-agent'] = o.userAgent;
    const req = request(`${server}${path}`, { method, headers, agent: o.agent, ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d) => { text += d; });
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, body: text }); });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer in ${ms / 1000} s`)), ms);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The message of a Status answer, or its HTTP status (never the body itself). @param {{ status: number, body: string }} r */
export function statusMessage(r) {
  try {
    const m = JSON.parse(r.body).message;
    if (typeof m === 'string') return `${r.status} ${m}`;
  } catch { /* not JSON */ }
  return `HTTP ${r.status}`;
}

/** GET `path` with the admin client certificate. @param {string} server @param {import('../../twin/pki.mjs').ClusterPki} pki @param {string} path */
export const adminGet = (server, pki, path) => adminRequest(server, pki, 'GET', path);

/**
 * @param {{ bin: string, dir: string, host: string, etcdUrl: string, pki: import('../../twin/pki.mjs').ClusterPki,
 *   serviceCidr: string, readyMs: number }} o
 * @returns {Promise<{ proc: import('./procs.mjs').Proc, server: string, saKey: string, auditLog: string }>}
 */
export async function startApiserver(o) {
  const dir = join(o.dir, 'apiserver');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await writeFile(join(dir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o600 });
  const auditLog = join(o.dir, 'audit.log');
  writeAuditPolicy(join(dir, 'audit-policy.yaml'));
  const port = await freePort(o.host);
  const server = `https://${o.host}:${port}`;
  const proc = startProcess('kube-apiserver', o.bin, [
    `--etcd-servers=${o.etcdUrl}`,
    `--bind-address=${o.host}`, `--secure-port=${port}`, `--advertise-address=${o.host}`,
    `--cert-dir=${dir}`,
    `--tls-cert-file=${join(o.pki.dir, 'server.crt')}`, `--tls-private-key-file=${join(o.pki.dir, 'server.key')}`,
    `--client-ca-file=${join(o.pki.dir, 'ca.crt')}`, '--anonymous-auth=false',
    '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
    `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    `--service-account-issuer=${ISSUER}`, `--api-audiences=${ISSUER},k3s`,
    `--service-cluster-ip-range=${o.serviceCidr}`,
    // The "kubernetes" Service's endpoints may not be loopback addresses (Endpoints validation): leave them out.
    '--endpoint-reconciler-type=none',
    // Exec reaches a node's kubelet (tools/real-backend/kubelet.mjs) at its loopback InternalIP.
    '--kubelet-preferred-address-types=InternalIP',
    `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${auditLog}`,
    '--profiling=false', '--v=1',
  ], join(o.dir, 'kube-apiserver.log'));
  await waitReady(proc, async () => (await adminGet(server, o.pki, '/readyz')).status === 200, o.readyMs);
  return { proc, server, saKey: join(dir, 'sa.key'), auditLog };
}
