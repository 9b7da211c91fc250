// @ts-check
// kube-controller-manager and kube-scheduler of one cluster, flagged as K3s
// runs them: node pod CIDRs allocated from the cluster's pod CIDR, service
// accounts' tokens signed by the apiserver's key, CSRs signed by the cluster
// CA, one instance each (no leader election). Both serve /healthz on loopback.
import { mkdir } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort, startProcess, waitReady } from './procs.mjs';

/**
 * Whether https://host:port/healthz answers 200 (their serving certificates are self-signed).
 * @param {string} url @returns {Promise<boolean>}
 */
function healthy(url) {
  return new Promise((resolve) => {
    const req = request(`${url}/healthz`, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * @typedef {object} ControllerOptions
 * @property {string} bin
 * @property {string} dir the cluster's folder
 * @property {string} host loopback address to serve /healthz on
 * @property {string} kubeconfig admin kubeconfig
 * @property {number} readyMs
 */

/**
 * Starts one of the two with the flags they share (kubeconfigs, /healthz on
 * loopback with a self-signed certificate in a folder of its own, no leader
 * election) and its own, and waits for /healthz.
 * @param {string} name @param {string} certDir @param {ControllerOptions} o @param {string[]} own
 */
async function startController(name, certDir, o, own) {
  const certs = join(o.dir, certDir);
  await mkdir(certs, { recursive: true, mode: 0o700 });
  const port = await freePort(o.host);
  const proc = startProcess(name, o.bin, [
    `--kubeconfig=${o.kubeconfig}`, `--authentication-kubeconfig=${o.kubeconfig}`, `--authorization-kubeconfig=${o.kubeconfig}`,
    `--bind-address=${o.host}`, `--secure-port=${port}`, `--cert-dir=${certs}`,
    '--leader-elect=false', ...own, '--profiling=false', '--v=1',
  ], join(o.dir, `${name}.log`));
  await waitReady(proc, () => healthy(`https://${o.host}:${port}`), o.readyMs);
  return proc;
}

/**
 * @param {ControllerOptions & { pkiDir: string, saKey: string, podCidr: string, serviceCidr: string }} o
 */
export function startControllerManager(o) {
  return startController('kube-controller-manager', 'controller-manager', o, [
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${o.saKey}`, `--root-ca-file=${join(o.pkiDir, 'ca.crt')}`,
    `--cluster-signing-cert-file=${join(o.pkiDir, 'ca.crt')}`, `--cluster-signing-key-file=${join(o.pkiDir, 'ca.key')}`,
    '--allocate-node-cidrs=true', `--cluster-cidr=${o.podCidr}`, `--service-cluster-ip-range=${o.serviceCidr}`,
  ]);
}

/** @param {ControllerOptions} o */
export function startScheduler(o) {
  return startController('kube-scheduler', 'scheduler', o, []);
}
